"""SVDInterpreter against singular vectors computed directly with torch.linalg.svd."""

from __future__ import annotations

import pytest
import torch

from transformer_lens import HookedTransformer, SVDInterpreter


@pytest.fixture(scope="module")
def gelu():
    return HookedTransformer.from_pretrained("lenslab/gelu-2l", device="cpu")


def _same_up_to_sign(actual: torch.Tensor, expected: torch.Tensor) -> None:
    """Columns of "d_vocab 1 k" equal, each up to its sign (singular vectors have no fixed sign)."""
    actual, expected = actual[:, 0], expected
    for k in range(expected.shape[1]):
        sign = torch.sign((actual[:, k] * expected[:, k]).sum())
        torch.testing.assert_close(actual[:, k] * sign, expected[:, k], atol=1e-3, rtol=1e-3)


def test_ov_singular_vectors_through_the_unembedding(gelu):
    vectors = SVDInterpreter(gelu).get_singular_vectors("OV", layer_index=1, num_vectors=3, head_index=5)
    assert vectors.shape == (gelu.cfg.d_vocab, 1, 3)
    ov = gelu.blocks[1].attn.W_V[5] @ gelu.blocks[1].attn.W_O[5]
    right = torch.linalg.svd(ov).Vh[:3]
    _same_up_to_sign(vectors, (right @ gelu.W_U).T)


@pytest.mark.parametrize("kind", ["w_in", "w_out"])
def test_mlp_singular_vectors_through_the_unembedding(gelu, kind):
    vectors = SVDInterpreter(gelu).get_singular_vectors(kind, layer_index=0, num_vectors=4)
    matrix = gelu.blocks[0].mlp.W_in.T if kind == "w_in" else gelu.blocks[0].mlp.W_out
    right = torch.linalg.svd(matrix, full_matrices=False).Vh[:4]
    _same_up_to_sign(vectors, (right @ gelu.W_U).T)


def test_bad_arguments_are_named(gelu):
    interpreter = SVDInterpreter(gelu)
    with pytest.raises(ValueError, match="head_index is needed"):
        interpreter.get_singular_vectors("OV", layer_index=0)
    with pytest.raises(AssertionError, match="layer_index must be between 0 and 1"):
        interpreter.get_singular_vectors("w_in", layer_index=2)
    with pytest.raises(ValueError, match="vector_type must be one of"):
        interpreter.get_singular_vectors("QK", layer_index=0, head_index=0)
