"""Small helpers of upstream's LIT integration that need no lit-nlp: conversions, token display, batching."""

from __future__ import annotations

import importlib.util
from typing import Any, Optional, Union

import numpy as np
import torch


def check_lit_installed() -> bool:
    """Whether lit-nlp can be imported."""
    return importlib.util.find_spec("lit_nlp") is not None


def tensor_to_numpy(tensor: Optional[Union[torch.Tensor, np.ndarray]]) -> Optional[np.ndarray]:
    """A numpy array (detached, on the CPU; an array or None comes back as is)."""
    if tensor is None or isinstance(tensor, np.ndarray):
        return tensor
    tensor = tensor.detach().cpu()
    return (tensor.float() if tensor.dtype == torch.bfloat16 else tensor).numpy()


def numpy_to_tensor(array: np.ndarray, device: Optional[Union[str, torch.device]] = None) -> torch.Tensor:
    """A tensor from a numpy array, on ``device`` when given."""
    tensor = torch.from_numpy(np.asarray(array))
    return tensor.to(device) if device is not None else tensor


def clean_token_string(token: str) -> str:
    """A token for display: GPT-2's "Ġ" space becomes "▁" (SentencePiece's), BERT's "##" continuation is dropped."""
    if token.startswith("Ġ"):
        return "▁" + token[1:]
    if token.startswith("##"):
        return token[2:]
    return token


def clean_token_strings(tokens: list[str]) -> list[str]:
    return [clean_token_string(token) for token in tokens]


def batch_examples(examples: list[dict[str, Any]], batch_size: int) -> list[list[dict[str, Any]]]:
    """Consecutive batches of ``batch_size`` examples (the last may be shorter)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    return [examples[start : start + batch_size] for start in range(0, len(examples), batch_size)]


def unbatch_outputs(batched_outputs: dict[str, Any]) -> list[dict[str, Any]]:
    """One dict per example from a dict of batched arrays, tensors or lists (other values are shared)."""
    if not batched_outputs:
        return []
    batch_size = len(next(iter(batched_outputs.values())))
    batched = (np.ndarray, torch.Tensor, list)
    return [
        {key: value[index] if isinstance(value, batched) else value for key, value in batched_outputs.items()}
        for index in range(batch_size)
    ]


def get_hook_name_for_layer(template: str, layer: int, **kwargs: Any) -> str:
    """``template`` (e.g. ``HOOK_POINTS.RESID_PRE_TEMPLATE``) filled in for ``layer``."""
    return template.format(layer=layer, **kwargs)


def filter_cache_by_pattern(cache: Any, pattern: str) -> dict[str, torch.Tensor]:
    """The cache entries whose hook names contain ``pattern``."""
    return {name: value for name, value in cache.items() if pattern in name}


def get_model_info(model: Any) -> dict[str, Any]:
    """The model's name and sizes, as LIT shows them."""
    cfg = model.cfg
    fields = (
        "model_name", "n_layers", "n_heads", "d_model", "d_head", "d_mlp", "d_vocab", "n_ctx", "act_fn",
        "normalization_type", "positional_embedding_type",
    )  # fmt: skip
    return {field: getattr(cfg, field) for field in fields}
