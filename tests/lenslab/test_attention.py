"""AttentionPatterns: synced traits, validation before anything is sent, cache + layer input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lenslab import AttentionPatterns


def softmax_pattern(heads: int, n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(heads, n, n, generator=g).masked_fill(torch.ones(n, n).triu(1).bool(), float("-inf"))
    return scores.softmax(-1)


def test_traits_and_exact_payload():
    pattern = softmax_pattern(3, 4)
    w = AttentionPatterns(["The", " cat", " sat", " on"], pattern, layer=2)
    assert w.tokens == ["The", " cat", " sat", " on"]
    assert w.head_names == ["L2H0", "L2H1", "L2H2"]
    assert w.shape == [3, 4, 4] and w.dtype == "float32" and w.vmax == 1.0
    assert w.selected_head == 0 and w.title == "Layer 2 attention"
    assert isinstance(w.data, bytes)
    np.testing.assert_array_equal(w.tensor(), pattern.numpy())
    state = w.get_state()
    assert state["data"] == w.data  # bytes travel as a binary buffer, not a list
    assert not any(isinstance(v, list) and len(v) and isinstance(v[0], float) for v in state.values())


def test_float16_payload_for_a_big_pattern_decodes_to_the_same_halves():
    pattern = softmax_pattern(12, 512)
    w = AttentionPatterns(None, pattern)
    assert w.dtype == "float16" and w.shape == [12, 512, 512]
    assert len(w.data) == 12 * 512 * 512 * 2
    np.testing.assert_array_equal(w.tensor(), pattern.numpy().astype(np.float16))
    assert w.tokens == [str(i) for i in range(512)]
    assert w.head_names[:2] == ["H0", "H1"]


def test_batched_pattern_picks_one_prompt():
    pattern = torch.stack([softmax_pattern(2, 3, 0), softmax_pattern(2, 3, 1)])
    w = AttentionPatterns([["a", "b", "c"], ["d", "e", "f"]], pattern, batch=1)
    np.testing.assert_array_equal(w.tensor(), pattern[1].numpy())
    assert w.tokens == ["d", "e", "f"]


def test_from_a_cache_and_layer(tiny_model, tiny_run):
    tokens, cache = tiny_run
    w = AttentionPatterns(tokens[0], cache, layer=-1)
    assert w.head_names == ["L1H0", "L1H1", "L1H2", "L1H3"]
    np.testing.assert_array_equal(w.tensor(), cache["blocks.1.attn.hook_pattern"][0].numpy())
    assert w.tokens == [str(int(t)) for t in tokens[0]]  # no tokenizer: ids label the positions
    w2 = AttentionPatterns(None, cache=cache, layer=0, batch=1)
    np.testing.assert_array_equal(w2.tensor(), cache["blocks.0.attn.hook_pattern"][1].numpy())


def test_string_tokens_from_a_prompt(gpt2_model):
    _, cache = gpt2_model.run_with_cache("The cat sat on the mat")
    w = AttentionPatterns("The cat sat on the mat", cache, layer=0)
    assert w.tokens == gpt2_model.to_str_tokens("The cat sat on the mat")
    assert w.tokens[1] == "The"


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((["a"], torch.ones(2, 2)), {}, "pattern must be \\[heads, dest, src\\] \\(or \\[batch, heads, dest, src\\]\\); got rank 2 shape \\[2, 2\\]"),
        ((["a", "b"], torch.ones(1, 2, 3) / 3), {}, "must be square .* got \\[1, 2, 3\\]"),
        ((["a", "b"], softmax_pattern(2, 3)), {}, "tokens has 2 entries but the pattern has 3 positions"),
        ((None, softmax_pattern(2, 3)), {"head_names": ["x"]}, "head_names has 1 entries but the pattern has 2 heads"),
        ((None, softmax_pattern(2, 3)), {"selected_head": 2}, "selected_head=2 is out of range for 2 heads"),
        ((None, softmax_pattern(2, 3)), {"vmax": 0}, "vmax must be a finite number > 0, got 0.0"),
        ((None, softmax_pattern(2, 3)), {"vmax": float("nan")}, "vmax must be a finite number > 0, got nan"),
        ((None, softmax_pattern(2, 3)), {"vmax": float("inf")}, "vmax must be a finite number > 0, got inf"),
        ((None, softmax_pattern(2, 3)), {"vmax": "1"}, "vmax must be a finite number > 0, got str"),
        ((None, torch.ones(0, 3, 3)), {}, "pattern of shape \\[0, 3, 3\\] has no heads: nothing to show"),
        ((None, torch.ones(2, 0, 0)), {}, "pattern of shape \\[2, 0, 0\\] has no positions"),
        ((None, torch.ones(2, 0, 3, 3)), {}, "pattern of shape \\[2, 0, 3, 3\\] has no heads"),
        (([["a", "b", "c"], ["d", "e", "f"]], torch.ones(3, 2, 3, 3) / 3), {"batch": 2}, "tokens has 2 rows but the pattern's batch has 3 prompts"),
        ((torch.zeros(2, 3, dtype=torch.long), torch.ones(3, 2, 3, 3) / 3), {}, "tokens has 2 rows but the pattern's batch has 3 prompts"),
        (([["a", "b", "c"], ["d", "e", "f"]], torch.ones(2, 3, 3) / 3), {"batch": 5}, "batch=5 is out of range for tokens with 2 rows"),
        ((None, torch.ones(2, 2, 3, 3) / 3), {"batch": 2}, "batch=2 is out of range"),
        ((None, torch.full((1, 2, 2), float("nan"))), {}, "pattern has 4 NaN/inf value\\(s\\), the first at index \\(0, 0, 0\\)"),
    ],
)
def test_bad_input_raises_one_clear_line(args, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message) as info:
        AttentionPatterns(*args, **kwargs)
    assert "\n" not in str(info.value)


def test_circuitsvis_call_shape(gpt2_model):
    # cv.attention.attention_patterns(tokens=str_tokens, attention=pattern): [heads, dest, src], no batch.
    prompt = "The cat sat on the mat"
    _, cache = gpt2_model.run_with_cache(prompt)
    str_tokens = gpt2_model.to_str_tokens(prompt)
    pattern = cache["blocks.0.attn.hook_pattern"][0]
    w = AttentionPatterns(tokens=str_tokens, attention=pattern)
    np.testing.assert_array_equal(w.tensor(), pattern.numpy())
    assert w.tokens == str_tokens and w.head_names == [f"H{h}" for h in range(pattern.shape[0])]
    named = AttentionPatterns(tokens=str_tokens, attention=pattern.tolist(), attention_head_names=[f"L0H{h}" for h in range(pattern.shape[0])])
    np.testing.assert_allclose(named.tensor(), pattern.numpy(), rtol=0, atol=1e-7)  # nested lists, as circuitsvis accepts
    assert named.head_names[-1] == f"L0H{pattern.shape[0] - 1}"


def test_circuitsvis_keywords_clash_with_ours_in_one_line():
    pattern = softmax_pattern(2, 3)
    with pytest.raises(TypeError, match="pass pattern= or circuitsvis's attention=, not both"):
        AttentionPatterns(None, pattern, attention=pattern)
    with pytest.raises(TypeError, match="pass head_names= or circuitsvis's attention_head_names=, not both"):
        AttentionPatterns(None, attention=pattern, head_names=["a", "b"], attention_head_names=["a", "b"])
    with pytest.raises(ValueError, match="tokens has 2 entries but the pattern has 3 positions"):
        AttentionPatterns(tokens=["a", "b"], attention=pattern)


def test_cache_errors(tiny_run):
    _, cache = tiny_run
    with pytest.raises(TypeError, match="needs layer=<int>"):
        AttentionPatterns(None, cache)
    with pytest.raises(KeyError, match="blocks.7.attn.hook_pattern is not in the cache; cached patterns: blocks.0"):
        AttentionPatterns(None, cache, layer=7)
    with pytest.raises(TypeError, match="needs either pattern"):
        AttentionPatterns(["a"])
    with pytest.raises(TypeError, match="pass the cache once"):
        AttentionPatterns(None, cache, cache=cache, layer=0)


def test_nan_allowed_on_request():
    pattern = softmax_pattern(1, 3)
    pattern[0, 2, 1] = float("nan")
    w = AttentionPatterns(None, pattern, allow_nan=True)
    assert np.isnan(w.tensor()[0, 2, 1])


def test_selected_head_syncs_from_the_front_end():
    w = AttentionPatterns(None, softmax_pattern(3, 2))
    w.set_state({"selected_head": 2})  # what a click on a thumbnail sends
    assert w.selected_head == 2


def test_cache_keys_must_be_hook_names():
    pattern = softmax_pattern(2, 3)[None]
    with pytest.raises(TypeError, match="cache keys must be hook names .*got int key 0") as info:
        AttentionPatterns(None, {0: pattern}, layer=0)
    assert "\n" not in str(info.value)


def test_token_rows_of_a_cached_batch(tiny_run):
    tokens, cache = tiny_run  # a batch of 2 prompts
    rows = [[f"p{p}t{i}" for i in range(6)] for p in range(2)]
    assert AttentionPatterns(rows, cache, layer=0, batch=1).tokens == rows[1]
    with pytest.raises(ValueError, match="tokens has 3 rows but the pattern's batch has 2 prompts"):
        AttentionPatterns(rows + rows[:1], cache, layer=0, batch=1)


def test_view_by_defaults_to_destination_syncs_and_rejects_other_values():
    w = AttentionPatterns(["a", "b"], torch.tensor([[[1.0, 0.0], [0.5, 0.5]]]))
    assert w.view_by == "destination"
    w.set_state({"view_by": "source"})  # what the front end's toggle sends
    assert w.view_by == "source"
    assert AttentionPatterns(["a", "b"], torch.tensor([[[1.0, 0.0], [0.5, 0.5]]]), view_by="source").view_by == "source"
    with pytest.raises(Exception, match="view_by must be one of 'destination', 'source'; got 'keys'"):
        AttentionPatterns(["a", "b"], torch.tensor([[[1.0, 0.0], [0.5, 0.5]]]), view_by="keys")
