"""Matrix helpers of upstream's ``utils`` (composition scores live in ``transformer_lens.utils``)."""

from __future__ import annotations

from typing import Any

import torch

from transformer_lens.utils import composition_scores

__all__ = ["composition_scores", "get_matrix_corner"]


def get_matrix_corner(matrix: Any, n: int = 3) -> torch.Tensor:
    """The top-left ``n x n x ...`` corner of a FactoredMatrix, as a dense tensor (computed from the corner only)."""
    return matrix[tuple(slice(n) for _ in range(matrix.ndim))].AB
