"""``bias + x @ weight`` for inputs with any leading dimensions, as one ``addmm``."""

from __future__ import annotations

import torch

__all__ = ["batch_addmm", "vanilla_addmm"]


def vanilla_addmm(input: torch.Tensor, mat1: torch.Tensor, mat2: torch.Tensor) -> torch.Tensor:
    """``input + mat1 @ mat2`` for 2-d ``mat1`` ``"m n"`` and ``mat2`` ``"n o"``."""
    return torch.addmm(input, mat1, mat2)


def batch_addmm(bias: torch.Tensor, weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``"... d_in" -> "... d_out"``: ``x @ weight + bias`` with ``weight`` ``"d_in d_out"``."""
    flat = torch.addmm(bias, x.reshape(-1, x.shape[-1]), weight)
    return flat.view(*x.shape[:-1], weight.shape[-1])
