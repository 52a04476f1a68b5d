"""HookedTransformer.forward on unusual token input: errors that name the problem, and integer dtypes."""

import pytest
import torch

from hook_state import attached_hooks
from transformer_lens import HookedTransformer


@pytest.fixture(scope="module")
def model():
    return HookedTransformer.from_pretrained("lenslab/attn-only-2l", device="cpu")


@pytest.mark.parametrize(
    "tokens, message",
    [
        (torch.zeros(1, 0, dtype=torch.long), r"shape \(1, 0\) have no positions: the model needs at least one token"),
        (torch.zeros(0, dtype=torch.long), r"shape \(1, 0\) have no positions"),
        (torch.zeros(0, 4, dtype=torch.long), r"shape \(0, 4\) hold no prompts"),
    ],
)
def test_empty_token_tensors_are_refused(model, tokens, message):
    for call in (model, lambda t: model.run_with_cache(t), lambda t: model.run_with_hooks(t, fwd_hooks=[("hook_embed", lambda x, hook: x)])):
        with pytest.raises(ValueError, match=message) as info:
            call(tokens)
        assert "\n" not in str(info.value)
    assert attached_hooks(model) == []


def test_an_empty_prompt_without_bos_is_refused(model):
    with pytest.raises(ValueError, match="an empty string without BOS tokenizes to nothing"):
        model("", prepend_bos=False)
    assert model("").shape == (1, 1, model.cfg.d_vocab)  # the BOS alone is a valid input


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.int16, torch.uint8, torch.int8])
def test_every_integer_dtype_gives_the_int64_logits(model, dtype):
    # uint8 ids used to be read as a boolean mask by the embedding lookup.
    tokens = torch.tensor([[1, 7, 100], [2, 3, 120]])
    reference = model(tokens)
    torch.testing.assert_close(model(tokens.to(dtype)), reference, rtol=0, atol=0)
