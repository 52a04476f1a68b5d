"""Tensor helpers of upstream's ``utils``; the shared ones are ``transformer_lens.utils``'s own functions."""

from __future__ import annotations

import torch

from transformer_lens.utils import (
    filter_dict_by_prefix,
    get_corner,
    get_cumsum_along_dim,
    is_lower_triangular,
    is_square,
    remove_batch_dim,
    to_numpy,
    transpose,
)

__all__ = [
    "check_structure",
    "filter_dict_by_prefix",
    "get_corner",
    "get_cumsum_along_dim",
    "get_offset_position_ids",
    "is_lower_triangular",
    "is_square",
    "remove_batch_dim",
    "repeat_along_head_dimension",
    "to_numpy",
    "transpose",
]


def _order_mismatches(t1: torch.Tensor, t2: torch.Tensor) -> list[int]:
    """Indices i where "row i >= row i+1" differs between t1 and t2 (elementwise, any column)."""
    ge1, ge2 = t1[:-1].ge(t1[1:]), t2[:-1].ge(t2[1:])
    return ge1.ne(ge2).any(dim=-1).nonzero().flatten().tolist()


def check_structure(t1: torch.Tensor, t2: torch.Tensor, *, verbose: bool = False) -> None:
    """Print whether two ``"rows cols"`` matrices have the same ordering structure.

    Compares, for each pair of neighbouring rows (then columns), which entries grow or shrink; prints
    ``PASSED`` or the first kind of mismatch with its indices.
    """
    assert t1.ndim == 2, f"check_structure needs 2-d tensors, got {t1.ndim} dimensions"
    assert t1.shape == t2.shape, f"check_structure needs equal shapes, got {tuple(t1.shape)} and {tuple(t2.shape)}"
    row_mismatch = _order_mismatches(t1, t2)
    col_mismatch = _order_mismatches(t1.T, t2.T)
    if verbose:
        print(f"Checking rows: mismatches at {row_mismatch}")
        print(f"Checking columns: mismatches at {col_mismatch}")
    if not row_mismatch and not col_mismatch:
        print("PASSED")
    elif row_mismatch:
        print(f"row mismatch: {row_mismatch}")
    else:
        print(f"column mismatch: {col_mismatch}")


def get_offset_position_ids(past_kv_pos_offset: int, attention_mask: torch.Tensor) -> torch.Tensor:
    """``"batch offset_pos" -> "batch pos"``: each token's position counting real tokens only.

    Leading padding gets position 0; the first ``past_kv_pos_offset`` (cached) positions are dropped.

    >>> get_offset_position_ids(1, torch.tensor([[0, 0, 1, 1, 1]]))
    tensor([[0, 0, 1, 2]])
    """
    positions = attention_mask.cumsum(dim=1) - 1
    return positions.clamp(min=0)[:, past_kv_pos_offset:]


def repeat_along_head_dimension(tensor: torch.Tensor, n_heads: int, clone_tensor: bool = True) -> torch.Tensor:
    """``"batch pos d_model" -> "batch pos n_heads d_model"``; a real copy unless ``clone_tensor=False``."""
    repeated = tensor.unsqueeze(2).expand(-1, -1, n_heads, -1)
    return repeated.clone() if clone_tensor else repeated
