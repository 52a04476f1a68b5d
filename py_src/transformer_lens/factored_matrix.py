"""FactoredMatrix: a matrix kept as the product ``A @ B`` of two thin factors.

``model.OV`` and ``model.QK`` are ``[n_layers, n_heads, d_model, d_model]`` matrices of rank
``d_head``; holding them factored keeps products, SVDs, eigenvalues and norms at the cost of the
small inner dimension (``mdim``) instead of ``d_model``.
"""

from __future__ import annotations

import warnings
from functools import cached_property
from typing import Any, Union

import torch

from transformer_lens.errors import CheckFailed


class FactoredMatrixShapeError(CheckFailed):
    """Factors or operands whose dimensions do not fit.

    Also an ``AssertionError``: upstream TransformerLens checks these with ``assert``, and code
    written against it catches that.
    """


class FactoredMatrixBroadcastError(ValueError, RuntimeError):
    """Leading dimensions that do not broadcast (a ``RuntimeError`` in upstream and in torch)."""


def _t(x: torch.Tensor) -> torch.Tensor:
    return x.transpose(-2, -1)


class FactoredMatrix:
    """``A @ B`` with ``A: "... ldim mdim"`` and ``B: "... mdim rdim"``; leading dims broadcast."""

    def __init__(self, A: torch.Tensor, B: torch.Tensor) -> None:
        if A.ndim < 2 or B.ndim < 2:
            raise FactoredMatrixShapeError(f"FactoredMatrix factors need at least 2 dims, got shapes {tuple(A.shape)} and {tuple(B.shape)}")
        if A.shape[-1] != B.shape[-2]:
            raise FactoredMatrixShapeError(
                f"Factored matrix must match on inner dimension, shapes were a: {tuple(A.shape)}, b: {tuple(B.shape)}"
            )
        self.ldim = A.shape[-2]
        self.mdim = A.shape[-1]
        self.rdim = B.shape[-1]
        self.has_leading_dims = A.ndim > 2 or B.ndim > 2
        try:
            leading = torch.broadcast_shapes(A.shape[:-2], B.shape[:-2])
        except RuntimeError as error:
            raise FactoredMatrixBroadcastError(
                f"Shape mismatch: cannot broadcast the leading dims of A {tuple(A.shape)} and B {tuple(B.shape)}"
            ) from error
        self.shape = torch.Size((*leading, self.ldim, self.rdim))
        self.A = A.broadcast_to((*leading, self.ldim, self.mdim))
        self.B = B.broadcast_to((*leading, self.mdim, self.rdim))

    # ---- products ---------------------------------------------------------------------
    def __matmul__(self, other: Union[torch.Tensor, "FactoredMatrix"]) -> Any:
        """``self @ other``: a FactoredMatrix, or a ``"... ldim"`` tensor when ``other`` is a vector."""
        if isinstance(other, FactoredMatrix):
            return (self @ other.A) @ other.B
        if other.ndim < 2:
            return (self.A @ (self.B @ other.unsqueeze(-1))).squeeze(-1)
        if other.shape[-2] != self.rdim:
            raise FactoredMatrixShapeError(f"Right matrix must match on inner dimension, shapes were self: {self.shape}, other: {tuple(other.shape)}")
        # Keep the inner dimension as small as possible.
        if self.rdim > self.mdim:
            return FactoredMatrix(self.A, self.B @ other)
        return FactoredMatrix(self.AB, other)

    def __rmatmul__(self, other: torch.Tensor) -> Any:
        """``other @ self``: a FactoredMatrix, or a ``"... rdim"`` tensor when ``other`` is a vector."""
        if other.shape[-1] != self.ldim:
            raise FactoredMatrixShapeError(f"Left matrix must match on inner dimension, shapes were self: {self.shape}, other: {tuple(other.shape)}")
        if other.ndim < 2:
            return ((other.unsqueeze(-2) @ self.A) @ self.B).squeeze(-2)
        if self.ldim > self.mdim:
            return FactoredMatrix(other @ self.A, self.B)
        return FactoredMatrix(other, self.AB)

    def __mul__(self, scalar: Union[int, float, torch.Tensor]) -> "FactoredMatrix":
        """Scalar multiple (the scalar goes into ``A``)."""
        if isinstance(scalar, torch.Tensor) and scalar.numel() != 1:
            raise FactoredMatrixShapeError(f"* needs a scalar, got a tensor of shape {tuple(scalar.shape)}; use @ for matrix products")
        return FactoredMatrix(self.A * scalar, self.B)

    def __rmul__(self, scalar: Union[int, float, torch.Tensor]) -> "FactoredMatrix":
        return self * scalar

    @property
    def AB(self) -> torch.Tensor:
        """The full product ``"... ldim rdim"`` (can be large)."""
        return self.A @ self.B

    @property
    def BA(self) -> torch.Tensor:
        """The reverse product ``"... mdim mdim"``; only defined when ``ldim == rdim``."""
        if self.ldim != self.rdim:
            raise FactoredMatrixShapeError(f"BA needs ldim == rdim, shape was {self.shape}")
        return self.B @ self.A

    @property
    def T(self) -> "FactoredMatrix":
        return FactoredMatrix(_t(self.B), _t(self.A))

    @property
    def pair(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.A, self.B

    # ---- decompositions ---------------------------------------------------------------
    @cached_property
    def _svd(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # A = Qa Ra and B^T = Qb Rb with orthonormal Qs, so AB = Qa (Ra Rb^T) Qb^T and only the
        # small middle matrix needs an SVD.
        q_a, r_a = torch.linalg.qr(self.A)
        q_b, r_b = torch.linalg.qr(_t(self.B))
        u_m, s, vh_m = torch.linalg.svd(r_a @ _t(r_b), full_matrices=False)
        return q_a @ u_m, s, q_b @ _t(vh_m)

    def svd(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(U, S, V)`` with ``U @ S.diag_embed() @ V.transpose(-2, -1) == AB``.

        ``U: "... ldim k"``, ``S: "... k"`` (descending), ``V: "... rdim k"``, k = min(ldim, mdim, rdim).
        """
        return self._svd

    @property
    def U(self) -> torch.Tensor:
        return self.svd()[0]

    @property
    def S(self) -> torch.Tensor:
        return self.svd()[1]

    @property
    def V(self) -> torch.Tensor:
        """Right singular vectors ``"... rdim k"``."""
        return self.svd()[2]

    @property
    def Vh(self) -> torch.Tensor:
        """Deprecated alias of ``V`` (it has always returned V, not its transpose)."""
        warnings.warn(
            "FactoredMatrix.Vh returns V (the right singular vectors), not Vh; use .V, "
            "or .V.transpose(-2, -1) for the transpose",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.svd()[2]

    @property
    def eigenvalues(self) -> torch.Tensor:
        """Eigenvalues ``"... mdim"`` (complex) of AB, computed from the small BA.

        AB and BA share their non-zero eigenvalues: if ``BA v = k v`` then ``AB (Av) = k (Av)``.
        """
        ba = self.BA
        if ba.dtype in (torch.float16, torch.bfloat16):
            ba = ba.float()
        return torch.linalg.eigvals(ba)

    def norm(self) -> torch.Tensor:
        """Frobenius norm ``"..."``: the root of the sum of squared singular values."""
        return self.S.pow(2).sum(-1).sqrt()

    def make_even(self) -> "FactoredMatrix":
        """The same matrix factored as ``(U sqrt(S)) @ (sqrt(S) V^T)``: balanced, orthogonal halves."""
        root = self.S.sqrt()
        return FactoredMatrix(self.U * root[..., None, :], root[..., :, None] * _t(self.V))

    def collapse_l(self) -> torch.Tensor:
        """``S V^T`` ``"... k rdim"``: the matrix with its left orthogonal factor U removed."""
        return self.S[..., :, None] * _t(self.V)

    def collapse_r(self) -> torch.Tensor:
        """``U S`` ``"... ldim k"``: the matrix with its right orthogonal factor V removed."""
        return self.U * self.S[..., None, :]

    # ---- shape and indexing -----------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    def unsqueeze(self, k: int) -> "FactoredMatrix":
        """Insert a leading dim at ``k``; negative ``k`` counts from the end of the leading dims."""
        return FactoredMatrix(self.A.unsqueeze(k), self.B.unsqueeze(k))

    def get_corner(self, k: int = 3) -> torch.Tensor:
        """Top-left ``k x k`` (and first k of each leading dim) of AB, without the full product."""
        corner = self.A[..., :k, :] @ self.B[..., :, :k]
        return corner[tuple(slice(k) for _ in range(corner.ndim))]

    def __getitem__(self, idx: Any) -> "FactoredMatrix":
        """Index the leading dims; one or two extra indices select rows of A and columns of B.

        An int in the last two positions keeps its dimension (as a length-1 range).
        """
        if not isinstance(idx, tuple):
            idx = (idx,)
        n_leading = len(self.shape) - 2
        used = len([i for i in idx if i is not None])
        if used <= n_leading:
            return FactoredMatrix(self.A[idx], self.B[idx])
        if used == n_leading + 1:
            rows = (*idx[:-1], _keep_dim(idx[-1]))
            return FactoredMatrix(self.A[rows], self.B[idx[:-1]])
        if used == n_leading + 2:
            leading, row, col = idx[:-2], _keep_dim(idx[-2]), _keep_dim(idx[-1])
            return FactoredMatrix(self.A[(*leading, row)], self.B[(*leading, slice(None), col)])
        raise ValueError(f"{idx} is too long an index for a FactoredMatrix with shape {self.shape}")

    def __repr__(self) -> str:
        return f"FactoredMatrix: Shape({self.shape}), Hidden Dim({self.mdim})"


def _keep_dim(index: Any) -> Any:
    """An int index as a one-element slice, so the dimension survives."""
    if isinstance(index, int):
        return slice(index, index + 1 if index != -1 else None)
    return index
