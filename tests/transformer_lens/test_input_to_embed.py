"""input_to_embed: upstream 3.x's four values (residual, tokens, shortformer pos embed, attention mask)."""

import pytest
import torch

from transformer_lens import HookedTransformer


@pytest.fixture(scope="module")
def model():
    return HookedTransformer.from_pretrained("lenslab/gelu-2l", device="cpu")


def test_four_values_and_the_residual_is_embed_plus_pos_embed(model):
    tokens = model.to_tokens("Hello there")
    residual, out_tokens, shortformer, mask = model.input_to_embed(tokens)
    _, cache = model.run_with_cache(tokens)
    assert torch.equal(out_tokens, tokens) and shortformer is None and mask is None
    torch.testing.assert_close(residual, cache["hook_embed"] + cache["hook_pos_embed"])
    torch.testing.assert_close(residual, cache["blocks.0.hook_resid_pre"])


def test_the_mask_covers_padding(model):
    texts = ["Hi", "A somewhat longer prompt"]
    _, tokens, _, mask = model.input_to_embed(texts, padding_side="left")
    expected = model._tokenize(texts, None, "left")[1]
    assert torch.equal(mask, expected) and not bool(mask.all())
    # Left-padded token ids get the same mask inferred from the pad token.
    model.tokenizer.padding_side = "left"
    try:
        assert torch.equal(model.input_to_embed(tokens)[3], expected)
    finally:
        model.tokenizer.padding_side = "right"
