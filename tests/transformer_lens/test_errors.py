"""Errors that upstream raises with ``assert``: ours are ValueErrors that are AssertionErrors too,
with the same one-line reason, so code written against either library catches them."""

import pytest
import torch

from transformer_lens import HookedEncoder, HookedTransformer, HookedTransformerConfig

SMALL = dict(n_layers=1, d_model=16, n_ctx=8, d_head=4, n_heads=4, act_fn="relu", d_mlp=32, seed=0)


@pytest.fixture(scope="module")
def no_tokenizer():
    return HookedTransformer(HookedTransformerConfig(**SMALL, d_vocab=20))


def assert_both(error_info):
    assert isinstance(error_info.value, ValueError) and isinstance(error_info.value, AssertionError)


@pytest.mark.parametrize("model_class", [HookedTransformer, HookedEncoder])
def test_no_vocabulary_and_no_tokenizer(model_class):
    with pytest.raises(AssertionError, match="Must provide a tokenizer if d_vocab is not provided") as error:
        model_class(HookedTransformerConfig(**SMALL))
    assert_both(error)


def test_text_without_a_tokenizer(no_tokenizer):
    for call in (lambda: no_tokenizer.to_tokens("hi"), lambda: no_tokenizer("hi"),
                 lambda: no_tokenizer.generate("hi", max_new_tokens=1, verbose=False)):
        with pytest.raises(AssertionError, match="no tokenizer") as error:
            call()
        assert_both(error)


def test_stopping_at_eos_needs_an_eos_id_without_a_tokenizer(no_tokenizer):
    tokens = torch.zeros(1, 3, dtype=torch.long)
    with pytest.raises(AssertionError, match="eos_token_id") as error:
        no_tokenizer.generate(tokens, max_new_tokens=2, stop_at_eos=True, verbose=False)
    assert_both(error)
    # Given the id, or not stopping at all, generation runs without a tokenizer.
    assert no_tokenizer.generate(tokens, max_new_tokens=2, stop_at_eos=False, verbose=False).shape == (1, 5)
    assert no_tokenizer.generate(tokens, max_new_tokens=2, eos_token_id=3, verbose=False).shape[1] <= 5


def test_refactoring_qk_of_a_rotary_model():
    from transformer_lens import weight_processing

    model = HookedTransformer(HookedTransformerConfig(**SMALL, d_vocab=20, positional_embedding_type="rotary"))
    with pytest.raises(AssertionError, match="rotary embeddings") as error:
        weight_processing.refactor_factored_attn_matrices(model.state_dict(), model.cfg)
    assert_both(error)
