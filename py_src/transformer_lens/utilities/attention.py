"""Per-head linear maps into attention: ``x @ W + b`` with ``W`` ``"head_index d_model d_head"``."""

from __future__ import annotations

import torch

__all__ = ["complex_attn_linear", "simple_attn_linear"]


def simple_attn_linear(input: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``"batch pos d_model" -> "batch pos head_index d_head"``: one input shared by every head."""
    w, b = w.to(input.device), b.to(input.device)
    n_heads, d_model, d_head = w.shape
    flat = torch.addmm(b.reshape(-1), input.reshape(-1, d_model), w.permute(1, 0, 2).reshape(d_model, n_heads * d_head))
    return flat.view(*input.shape[:-1], n_heads, d_head)


def complex_attn_linear(input: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``"batch pos head_index d_model" -> "batch pos head_index d_head"``: a separate input per head."""
    return torch.einsum("bphm,hmd->bphd", input, w) + b
