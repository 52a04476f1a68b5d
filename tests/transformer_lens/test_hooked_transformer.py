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


# ---- property: any valid token tensor gives finite logits, each row as if it ran alone ---------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_DTYPES = [torch.int64, torch.int32, torch.int16, torch.uint8]


@st.composite
def token_tensors(draw, d_vocab: int, n_ctx: int):
    dtype = draw(st.sampled_from(_DTYPES))
    high = min(d_vocab, torch.iinfo(dtype).max + 1)
    batch = draw(st.integers(1, 3))
    pos = draw(st.integers(1, 12))
    ids = draw(st.lists(st.integers(0, high - 1), min_size=batch * pos, max_size=batch * pos))
    # Sometimes the largest legal id and the full context, the edges of the valid range.
    if draw(st.booleans()):
        ids[-1] = high - 1
    tokens = torch.tensor(ids, dtype=torch.int64).reshape(batch, pos).to(dtype)
    if draw(st.integers(0, 9)) == 0:
        tokens = torch.full((1, n_ctx), high - 1, dtype=dtype)
    return tokens


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_forward_on_any_valid_tokens_is_finite_and_row_independent(model, data):
    cfg = model.cfg
    tokens = data.draw(token_tensors(cfg.d_vocab, cfg.n_ctx))
    with torch.no_grad():
        logits = model(tokens)
        assert logits.shape == (*tokens.shape, cfg.d_vocab)
        assert logits.dtype == cfg.dtype and bool(torch.isfinite(logits).all())
        # Oracle: the rows of a batch never see each other.
        for row in range(tokens.shape[0]):
            alone = model(tokens[row : row + 1])
            torch.testing.assert_close(logits[row : row + 1], alone, rtol=1e-4, atol=1e-4)
    assert attached_hooks(model) == []
