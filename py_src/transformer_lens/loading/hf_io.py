"""Finding checkpoints on disk or in the Hugging Face cache and reading their tensors."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Optional

import torch

if TYPE_CHECKING:
    from transformer_lens.loading.tensor_source import TensorSource

_WEIGHT_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken"]


class CheckpointNotFoundError(OSError):
    pass


def resolve_checkpoint_dir(name_or_path: str, revision: Optional[str] = None) -> Path:
    """A local directory holding the checkpoint: the path itself, or the HF cache snapshot."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    from huggingface_hub import constants, snapshot_download

    attempts = [True] if constants.HF_HUB_OFFLINE else [False, True]
    last_error: Optional[Exception] = None
    for local_only in attempts:
        try:
            snapshot = Path(
                snapshot_download(name_or_path, revision=revision, allow_patterns=_WEIGHT_PATTERNS, local_files_only=local_only)
            )
            if not any(snapshot.glob("*.safetensors")):
                snapshot = Path(
                    snapshot_download(
                        name_or_path, revision=revision, allow_patterns=["*.bin"], local_files_only=local_only
                    )
                )
            return snapshot
        except Exception as error:  # network errors, missing repos and missing cache entries alike
            last_error = error
    raise CheckpointNotFoundError(
        f"Cannot find model {name_or_path!r}: it is not a local directory, not an official name, and not in the "
        f"Hugging Face cache ({constants.HF_HUB_CACHE}) [{type(last_error).__name__}]"
    ) from None


def load_hf_config(checkpoint_dir: Path, trust_remote_code: bool = False) -> Any:
    from transformers import AutoConfig

    if not (checkpoint_dir / "config.json").is_file():
        raise CheckpointNotFoundError(f"No config.json in {checkpoint_dir}")
    try:
        return AutoConfig.from_pretrained(str(checkpoint_dir), trust_remote_code=trust_remote_code)
    except (ValueError, OSError):
        # Architectures that only exist as remote code (Qwen 1) are read from config.json itself,
        # also when trust_remote_code=True but the code files are not at hand.
        from transformer_lens.loading import registry

        raw = json.loads((checkpoint_dir / "config.json").read_text())
        if not registry.reads_plain_config(raw.get("architectures")):
            raise
        return PlainConfig(**raw)


class PlainConfig(SimpleNamespace):
    """A config.json read as attributes, for architectures transformers has no class for."""


def read_tensors(checkpoint_dir: Path) -> dict[str, torch.Tensor]:
    """Every tensor of a checkpoint directory (safetensors, sharded or not; else pytorch .bin)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    files = _weight_files(checkpoint_dir, "model.safetensors.index.json", "*.safetensors")
    loader = load_file
    if not files:
        files = _weight_files(checkpoint_dir, "pytorch_model.bin.index.json", "*.bin")
        loader = lambda f: torch.load(f, map_location="cpu", weights_only=True)  # noqa: E731
    if not files:
        raise CheckpointNotFoundError(f"No weight files (*.safetensors or *.bin) in {checkpoint_dir}")
    tensors: dict[str, torch.Tensor] = {}
    for file in files:
        try:
            tensors.update(loader(str(file)))
        except (SafetensorError, RuntimeError, EOFError, OSError) as error:
            raise OSError(f"Weights file {file} is corrupted or truncated: {error}") from None
    return tensors


def open_tensors(checkpoint_dir: Path) -> "TensorSource":
    """The checkpoint's tensors, read one by one on access (safetensors), or loaded (pytorch .bin).

    Headers are read now, so a truncated shard is named before any weight is read.
    """
    from transformer_lens.loading.tensor_source import InMemorySource, SafetensorsSource

    files = safetensors_files(checkpoint_dir)
    if files:
        return SafetensorsSource(files)
    if not _weight_files(checkpoint_dir, "pytorch_model.bin.index.json", "*.bin"):
        raise CheckpointNotFoundError(f"No weight files (*.safetensors or *.bin) in {checkpoint_dir}")
    return InMemorySource(read_tensors(checkpoint_dir))


def safetensors_files(checkpoint_dir: Path) -> list[Path]:
    """The checkpoint's safetensors files (its shards, by its index if it has one); empty if it has none."""
    return _weight_files(checkpoint_dir, "model.safetensors.index.json", "*.safetensors")


def _weight_files(checkpoint_dir: Path, index_name: str, pattern: str) -> list[Path]:
    index = checkpoint_dir / index_name
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        return [checkpoint_dir / shard for shard in shards]
    return sorted(p for p in checkpoint_dir.glob(pattern) if not p.name.startswith("training_args"))


_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "vocab.txt", "tokenizer.model", "spiece.model")


def load_tokenizer(checkpoint_dir: Path, trust_remote_code: bool = False) -> Any:
    """The checkpoint's tokenizer, or None if it ships none."""
    from transformers import AutoTokenizer

    # transformers 5 builds an empty placeholder tokenizer for folders without any files.
    if not any((Path(checkpoint_dir) / name).is_file() for name in _TOKENIZER_FILES):
        return None

    try:
        return AutoTokenizer.from_pretrained(str(checkpoint_dir), trust_remote_code=trust_remote_code)
    except (OSError, ValueError, TypeError):
        return None
