"""FactoredMatrix against the dense products it stands for."""

from __future__ import annotations

import pytest
import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.factored_matrix import FactoredMatrix
from transformer_lens.hooked_transformer import HookedTransformer


def randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    torch.testing.assert_close(actual, expected, atol=1e-9, rtol=1e-9)


@pytest.fixture
def fm() -> FactoredMatrix:
    """A batch of 2 x 3 rank-4 matrices of shape 6 x 5."""
    return FactoredMatrix(randn(2, 3, 6, 4, seed=1), randn(2, 3, 4, 5, seed=2))


def test_shapes_products_and_repr(fm):
    assert fm.shape == (2, 3, 6, 5) and fm.ndim == 4
    assert (fm.ldim, fm.mdim, fm.rdim) == (6, 4, 5)
    close(fm.AB, fm.A @ fm.B)
    close(fm.T.AB, fm.AB.transpose(-2, -1))
    assert fm.pair == (fm.A, fm.B)
    assert repr(fm) == "FactoredMatrix: Shape(torch.Size([2, 3, 6, 5])), Hidden Dim(4)"
    square = FactoredMatrix(randn(7, 3, seed=3), randn(3, 7, seed=4))
    close(square.BA, square.B @ square.A)
    with pytest.raises(ValueError, match="ldim == rdim"):
        fm.BA
    with pytest.raises(ValueError, match="inner dimension"):
        FactoredMatrix(randn(6, 4), randn(3, 5))


def test_leading_dims_broadcast():
    fm = FactoredMatrix(randn(3, 6, 4, seed=1), randn(4, 5, seed=2))
    assert fm.shape == (3, 6, 5) and fm.B.shape == (3, 4, 5)
    close(fm.AB, fm.A @ fm.B)


@pytest.mark.parametrize("other_cols", [2, 9], ids=["narrow", "wide"])
def test_matmul_with_tensors_on_both_sides(fm, other_cols):
    right = randn(5, other_cols, seed=5)
    product = fm @ right
    assert isinstance(product, FactoredMatrix)
    close(product.AB, fm.AB @ right)
    left = randn(other_cols, 6, seed=6)
    product = left @ fm
    assert isinstance(product, FactoredMatrix)
    close(product.AB, left @ fm.AB)
    wide = FactoredMatrix(randn(8, 2, seed=7), randn(2, 8, seed=8))  # ldim, rdim > mdim
    close((wide @ randn(8, 3, seed=9)).AB, wide.AB @ randn(8, 3, seed=9))
    close((randn(3, 8, seed=9) @ wide).AB, randn(3, 8, seed=9) @ wide.AB)
    with pytest.raises(ValueError, match="inner dimension"):
        fm @ randn(4, 2)


def test_matmul_with_vectors_and_factored_matrices(fm):
    vector = randn(5, seed=10)
    close(fm @ vector, (fm.AB @ vector[:, None])[..., 0])
    row = randn(6, seed=11)
    close(row @ fm, (row[None, :] @ fm.AB)[..., 0, :])
    other = FactoredMatrix(randn(5, 2, seed=12), randn(2, 7, seed=13))
    product = fm @ other
    assert isinstance(product, FactoredMatrix)
    close(product.AB, fm.AB @ other.AB)
    close((2.5 * fm).AB, 2.5 * fm.AB)
    close((fm * torch.tensor(3.0, dtype=torch.float64)).AB, 3 * fm.AB)
    with pytest.raises(ValueError, match="scalar"):
        fm * torch.ones(2)


def test_svd_reconstructs_the_product(fm):
    U, S, V = fm.svd()
    assert U.shape == (2, 3, 6, 4) and S.shape == (2, 3, 4) and V.shape == (2, 3, 5, 4)
    close(U @ torch.diag_embed(S) @ V.transpose(-2, -1), fm.AB)
    close(S, torch.linalg.svdvals(fm.AB)[..., :4])
    eye = torch.eye(4, dtype=torch.float64).expand(2, 3, 4, 4)
    close(U.transpose(-2, -1) @ U, eye)
    close(V.transpose(-2, -1) @ V, eye)
    assert fm.U is U and fm.S is S and fm.V is V
    with pytest.warns(DeprecationWarning, match="use .V"):
        assert fm.Vh is V


def test_svd_when_the_inner_dimension_is_not_the_smallest():
    fm = FactoredMatrix(randn(3, 8, seed=1), randn(8, 5, seed=2))
    U, S, V = fm.svd()
    assert S.shape == (3,)
    close(U @ torch.diag(S) @ V.T, fm.AB)


def test_norm_eigenvalues_and_even_factorisation(fm):
    close(fm.norm(), torch.linalg.matrix_norm(fm.AB))
    square = FactoredMatrix(randn(2, 7, 3, seed=3), randn(2, 3, 7, seed=4))
    eigenvalues = square.eigenvalues
    assert eigenvalues.shape == (2, 3) and eigenvalues.is_complex()
    for index in range(2):
        dense = torch.linalg.eigvals(square.AB[index])
        largest = dense[dense.abs().argsort(descending=True)[:3]]
        ours = eigenvalues[index]
        key = lambda values: sorted(values.tolist(), key=lambda z: (round(z.real, 6), round(z.imag, 6)))  # noqa: E731
        for a, b in zip(key(ours), key(largest)):
            assert abs(a - b) < 1e-8

    even = fm.make_even()
    close(even.AB, fm.AB)
    close(even.A.transpose(-2, -1) @ even.A, even.B @ even.B.transpose(-2, -1))
    close(fm.U @ fm.collapse_l(), fm.AB)
    close(fm.collapse_r() @ fm.V.transpose(-2, -1), fm.AB)


def test_indexing_and_unsqueeze(fm):
    close(fm[1].AB, fm.AB[1])
    close(fm[1, 2].AB, fm.AB[1, 2])
    close(fm[:, 0].AB, fm.AB[:, 0])
    close(fm[1, 2, 3].AB, fm.AB[1, 2, 3:4])  # a row index keeps its dimension
    close(fm[1, 2, -1].AB, fm.AB[1, 2, -1:])
    close(fm[1, 2, 1:4, 2].AB, fm.AB[1, 2, 1:4, 2:3])
    with pytest.raises(ValueError, match="too long"):
        fm[0, 0, 0, 0, 0]
    assert fm.unsqueeze(0).shape == (1, 2, 3, 6, 5)
    close(fm.get_corner(2), fm.AB[:2, :2, :2, :2])


def test_model_ov_and_qk_are_the_per_head_products():
    cfg = HookedTransformerConfig(
        n_layers=2, d_model=32, n_ctx=16, d_head=8, n_heads=4, d_vocab=50, act_fn="gelu_new", seed=0, device="cpu"
    )
    model = HookedTransformer(cfg)
    with torch.no_grad():
        ov, qk = model.OV, model.QK
        assert ov.shape == (2, 4, 32, 32) and qk.shape == (2, 4, 32, 32)
        torch.testing.assert_close(ov.AB, model.W_V @ model.W_O)
        torch.testing.assert_close(qk.AB, model.W_Q @ model.W_K.transpose(-2, -1))
        torch.testing.assert_close(ov[1, 2].AB, model.blocks[1].attn.W_V[2] @ model.blocks[1].attn.W_O[2])
        assert ov.S.shape == (2, 4, 8)


@pytest.mark.parametrize(
    "make",
    [
        lambda fm: FactoredMatrix(randn(6, 4), randn(3, 5)),  # inner dims differ
        lambda fm: fm.BA,  # not square
        lambda fm: fm.eigenvalues,  # not square
        lambda fm: fm @ randn(4, 2),
        lambda fm: randn(2, 4) @ fm,
        lambda fm: fm * torch.ones(2, 2),  # * is for scalars
        lambda fm: torch.ones(3) * fm,
    ],
    ids=["inner", "BA", "eigenvalues", "matmul", "rmatmul", "mul", "rmul"],
)
def test_shape_errors_are_value_and_assertion_errors(fm, make):
    """Upstream asserts these; code catching AssertionError (or ValueError) keeps working."""
    with pytest.raises(ValueError) as error:
        make(fm)
    assert isinstance(error.value, AssertionError)


def test_leading_dims_that_do_not_broadcast_are_a_runtime_error():
    with pytest.raises(RuntimeError, match="mismatch"):
        FactoredMatrix(randn(9, 5, 3), randn(2, 4, 3, 7))
    with pytest.raises(RuntimeError):  # torch's own error, from the product of the factors
        FactoredMatrix(randn(2, 6, 4), randn(2, 4, 5)) @ randn(3, 5, 2)


@pytest.mark.parametrize("scalar", [3, -0.5, torch.tensor(2.0, dtype=torch.float64), torch.ones(1, 1, dtype=torch.float64)])
def test_scalar_products_on_both_sides(fm, scalar):
    for product in (fm * scalar, scalar * fm):
        assert isinstance(product, FactoredMatrix)
        close(product.AB, fm.AB * scalar)
