"""Models shipped inside the package: loaded from disk, never from a hub.

Names live in the ``lenslab/`` namespace (matched case-insensitively). Every
``lenslab/...`` name is claimed here, so such a name never reaches a hub
look-up: an unknown one raises a ``ValueError`` listing the available models.
The bare upstream aliases ("attn-only-2l", "gelu-2l") are *not* claimed,
because upstream TransformerLens maps them to different hub models.

On disk (``transformer_lens/pretrained/embedded/``)::

    tokenizer.json               shared byte-level BPE (``<|endoftext|>`` = BOS/EOS/PAD)
    <short-name>/config.json     HookedTransformerConfig kwargs + weight metadata
    <short-name>/model.safetensors  TransformerLens names, float16

Embeddings are tied during training, so only ``embed.W_E`` is stored and
``unembed.W_U`` is rebuilt as its transpose. Tensors are upcast to float32.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

NAMESPACE = "lenslab/"
EMBEDDED_DIR = Path(__file__).resolve().parent.parent / "pretrained" / "embedded"
TOKENIZER_FILE_NAME = "tokenizer.json"
ENDOFTEXT = "<|endoftext|>"
EMBEDDED_MODEL_NAMES: tuple[str, ...] = ("lenslab/attn-only-2l", "lenslab/gelu-2l")
"""Official names of the shipped models, in the order they are documented."""


def is_embedded(name: str) -> bool:
    """Whether ``name`` belongs to the embedded ``lenslab/`` namespace.

    True for unknown ``lenslab/...`` names too, so that :func:`load_embedded`
    reports them (with the available names) instead of a hub look-up.
    """
    return name.lower().startswith(NAMESPACE)


def resolve_embedded_name(name: str) -> str:
    """Return the official spelling of an embedded model name.

    Raises:
        ValueError: if ``name`` is not a shipped model; the message lists them.
    """
    for official in EMBEDDED_MODEL_NAMES:
        if name.lower() == official.lower():
            return official
    raise ValueError(
        f"Unknown embedded model {name!r}; available: {', '.join(EMBEDDED_MODEL_NAMES)}"
    )


def model_dir(name: str) -> Path:
    """Directory holding ``config.json`` and the weights of an embedded model."""
    return EMBEDDED_DIR / resolve_embedded_name(name)[len(NAMESPACE) :]


def read_model_config(name: str) -> dict[str, Any]:
    """Parse an embedded model's ``config.json`` (config kwargs, weights, training)."""
    path = model_dir(name) / "config.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise OSError(f"Embedded model file {path} is missing; reinstall the package") from err
    except json.JSONDecodeError as err:
        raise OSError(f"Embedded model file {path} is corrupted: {err}") from err


def _load_weights(path: Path, expected_sha256: str | None) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        data = path.read_bytes()
    except FileNotFoundError as err:
        raise OSError(f"Embedded weights file {path} is missing; reinstall the package") from err
    if expected_sha256 is not None and hashlib.sha256(data).hexdigest() != expected_sha256:
        raise OSError(f"Embedded weights file {path} is corrupted or truncated: checksum mismatch")
    try:
        return load(data)
    except (SafetensorError, ValueError, RuntimeError) as err:
        raise OSError(f"Embedded weights file {path} is corrupted or truncated: {err}") from err


def load_tokenizer() -> PreTrainedTokenizerFast:
    """Load the shared embedded tokenizer with ``<|endoftext|>`` as BOS/EOS/PAD."""
    from transformers import PreTrainedTokenizerFast

    path = EMBEDDED_DIR / TOKENIZER_FILE_NAME
    if not path.is_file():
        raise OSError(f"Embedded tokenizer file {path} is missing; reinstall the package")
    try:
        return PreTrainedTokenizerFast(
            tokenizer_file=str(path),
            bos_token=ENDOFTEXT,
            eos_token=ENDOFTEXT,
            pad_token=ENDOFTEXT,
            unk_token=None,
        )
    except Exception as err:  # tokenizers raises a bare Exception on bad JSON
        raise OSError(f"Embedded tokenizer file {path} is corrupted: {err}") from err


def load_embedded(
    name: str,
) -> tuple[dict[str, Any], dict[str, torch.Tensor], PreTrainedTokenizerFast]:
    """Load a shipped model: config kwargs, unprocessed state dict, tokenizer.

    Args:
        name: an embedded model name, e.g. ``"lenslab/attn-only-2l"``.

    Returns:
        ``(config_kwargs, state_dict, tokenizer)``: keyword arguments for
        ``HookedTransformerConfig`` (``model_name`` set), the TransformerLens
        state dict in float32 before any weight processing (fold_ln etc.), and
        the tokenizer.

    Raises:
        ValueError: unknown name (the message lists the available models).
        OSError: a missing, corrupted or truncated file (the message names it).
    """
    meta = read_model_config(name)
    cfg_kwargs = dict(meta["config"])
    weights = meta["weights"]
    path = model_dir(name) / weights["file"]
    raw = _load_weights(path, weights.get("sha256"))
    state_dict = {key: tensor.to(torch.float32) for key, tensor in raw.items()}
    if weights.get("tied_embeddings", False):
        if "embed.W_E" not in state_dict:
            raise OSError(f"Embedded weights file {path} is corrupted: embed.W_E missing")
        state_dict["unembed.W_U"] = state_dict["embed.W_E"].T.contiguous()
    return cfg_kwargs, state_dict, load_tokenizer()
