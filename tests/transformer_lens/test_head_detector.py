"""detect_head on the embedded attn-only model, and the detection patterns and scores by hand."""

from __future__ import annotations

import pytest
import torch

from transformer_lens import HookedTransformer
from transformer_lens import head_detector as hd

CODE = "def compute_total(values):\n    total = 0\n    for value in values:\n        total += value\n    return total\n"


@pytest.fixture(scope="module")
def attn_only():
    return HookedTransformer.from_pretrained("lenslab/attn-only-2l", device="cpu")


def test_finds_the_known_previous_token_heads(attn_only):
    scores = hd.detect_head(attn_only, CODE, "previous_token_head")
    assert scores.shape == (2, 8)
    assert sorted(map(tuple, (scores > 0.5).nonzero().tolist())) == [(0, 2), (0, 3), (0, 4), (0, 5), (0, 7)]


def test_finds_induction_heads_in_layer_one_on_repeated_tokens(attn_only):
    tokens = torch.randint(100, attn_only.cfg.d_vocab, (30,), generator=torch.Generator().manual_seed(0))
    text = attn_only.to_string(torch.cat([tokens, tokens]))
    scores = hd.detect_head(attn_only, text, "induction_head", exclude_bos=True)
    assert scores[0].max() < 0.1 and scores[1].max() > 0.5


def test_scores_equal_the_fraction_of_attention_on_the_pattern(attn_only):
    tokens = attn_only.to_tokens(CODE)
    _, cache = attn_only.run_with_cache(tokens)
    pattern = hd.get_previous_token_head_detection_pattern(tokens)
    head = cache["blocks.0.attn.hook_pattern"][0, 3]
    expected = (head * pattern).sum() / head.sum()
    scores = hd.detect_head(attn_only, CODE, pattern, heads=[(0, 3)], cache=cache)
    assert scores[0, 3].item() == pytest.approx(expected.item(), rel=1e-6)
    assert (scores.flatten()[torch.arange(16) != 3] == -1).all()  # heads outside `heads` score -1


def test_detection_patterns_by_hand():
    tokens = torch.tensor([[5, 6, 5, 6]])
    assert hd.get_previous_token_head_detection_pattern(tokens).tolist() == [
        [0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]
    ]  # fmt: skip
    assert hd.get_duplicate_token_head_detection_pattern(tokens).tolist() == [
        [0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0]
    ]  # fmt: skip
    # At a repeat, attend to the token after the earlier copy.
    assert hd.get_induction_head_detection_pattern(tokens).tolist() == [
        [0, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]
    ]  # fmt: skip


def test_abs_score_is_one_for_a_perfect_match_and_lower_otherwise():
    detection = hd.get_previous_token_head_detection_pattern(torch.zeros(1, 5))
    perfect = detection.clone()
    perfect[0, 0] = 1.0
    score = hd.compute_head_attention_similarity_score(perfect, detection, exclude_bos=True, exclude_current_token=False, error_measure="abs")
    assert score == 1.0
    uniform = torch.tril(torch.ones(5, 5)) / torch.arange(1, 6)[:, None]
    worse = hd.compute_head_attention_similarity_score(uniform, detection, exclude_bos=False, exclude_current_token=False, error_measure="abs")
    expected = 1 - round((uniform - detection).abs().sum().item() / 5, 3)
    assert worse == pytest.approx(expected) and worse < 1


def test_bad_input_is_named(attn_only):
    with pytest.raises(ValueError, match="detection_pattern must be a tensor or one of"):
        hd.detect_head(attn_only, CODE, "copy_head")
    with pytest.raises(AssertionError, match="error_measure"):  # upstream raises AssertionError
        hd.detect_head(attn_only, CODE, "induction_head", error_measure="l2")
    with pytest.raises(ValueError, match="lower triangular"):
        hd.detect_head(attn_only, "a b", torch.ones(3, 3))
    with pytest.raises(ValueError, match="cache cannot be given with a list"):
        hd.detect_head(attn_only, ["a b", "c d"], "previous_token_head", cache={})
    assert all(not hp.fwd_hooks for hp in attn_only.hook_points())


def test_a_list_of_prompts_averages(attn_only):
    prompts = ["x = y + 1\n", "for item in items:\n"]
    each = [hd.detect_head(attn_only, p, "previous_token_head") for p in prompts]
    torch.testing.assert_close(hd.detect_head(attn_only, prompts, "previous_token_head"), torch.stack(each).mean(0))
