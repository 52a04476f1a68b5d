"""CacheExplorer: hook summaries, grouping, and the slice the kernel sends for each request."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lenslab import CacheExplorer
from lenslab.widgets.cache_explorer import hook_dims, hook_group, summarize


def test_every_hook_is_summarised_with_torch_statistics(tiny_run):
    _, cache = tiny_run
    ex = CacheExplorer(cache)
    assert [h["name"] for h in ex.hooks] == list(cache.keys())
    for info in ex.hooks:
        t = cache[info["name"]].double()
        assert info["shape"] == list(t.shape) and info["dtype"] == "float32"
        if info["name"].endswith("hook_attn_scores"):
            continue  # masked with -inf: covered below
        assert info["nonfinite"] == 0
        assert info["mean"] == pytest.approx(float(t.mean()), rel=1e-6, abs=1e-9)
        assert info["std"] == pytest.approx(float(t.std()), rel=1e-6)
        assert info["norm"] == pytest.approx(float(t.norm()), rel=1e-6)
    assert ex.summary("blocks.0.hook_resid_pre")["group"] == "Layer 0"


def test_hooks_are_grouped_by_layer_and_component():
    assert hook_group("hook_embed") == ("Embeddings", "embed")
    assert hook_group("blocks.3.attn.hook_z") == ("Layer 3", "attn")
    assert hook_group("blocks.3.ln2.hook_scale") == ("Layer 3", "ln")
    assert hook_group("ln_final.hook_normalized") == ("Final", "final")
    assert hook_group("blocks.1.custom.hook_thing") == ("Layer 1", "custom")
    assert hook_group("something") == ("Other", "model")


def test_axis_names_come_from_the_hook_table_or_the_rank():
    assert hook_dims("blocks.0.attn.hook_z", 4) == ("batch", "pos", "head_index", "d_head")
    assert hook_dims("blocks.0.attn.hook_pattern", 3, has_batch=False) == ("head_index", "query_pos", "key_pos")
    assert hook_dims("blocks.0.custom.hook_pattern", 4) == ("batch", "head_index", "query_pos", "key_pos")
    assert hook_dims("my_hook", 3) == ("batch", "pos", "d")
    assert hook_dims("my_hook", 5, has_batch=False) == ("dim0", "dim1", "dim2", "dim3", "dim4")


def test_patterns_open_in_the_attention_view(tiny_run):
    _, cache = tiny_run
    ex = CacheExplorer(cache)
    assert ex.selected == "blocks.0.attn.hook_pattern"  # the first pattern is shown first
    assert ex.view == "pattern" and ex.shape == [4, 6, 6] and ex.layer == 0
    assert ex.controls == {"batch": 2, "head": 0, "pos": 0}
    np.testing.assert_array_equal(ex.tensor(), cache["blocks.0.attn.hook_pattern"][0].numpy())
    ex.batch = 1
    np.testing.assert_array_equal(ex.tensor(), cache["blocks.0.attn.hook_pattern"][1].numpy())


def test_slices_follow_the_controls(tiny_run):
    _, cache = tiny_run
    ex = CacheExplorer(cache, selected="blocks.1.attn.hook_z")
    z = cache["blocks.1.attn.hook_z"]
    assert ex.view == "heatmap" and ex.controls == {"batch": 2, "head": 4, "pos": 6}
    assert (ex.row_axis, ex.col_axis) == ("position", "d_head")
    np.testing.assert_array_equal(ex.tensor(), z[0, :, 0, :].numpy())
    ex.head = 3
    np.testing.assert_array_equal(ex.tensor(), z[0, :, 3, :].numpy())
    revision = ex.revision
    ex.pos = 2  # one position: a line plot over d_head
    assert ex.view == "line" and ex.revision == revision + 1
    np.testing.assert_array_equal(ex.tensor(), z[0, 2, 3, :].numpy())
    ex.selected = "blocks.0.hook_resid_post"  # pos and batch stay, head no longer applies
    assert ex.view == "line" and ex.controls == {"batch": 2, "head": 0, "pos": 6}
    np.testing.assert_array_equal(ex.tensor(), cache["blocks.0.hook_resid_post"][0, 2].numpy())
    ex.pos = -1
    assert ex.view == "heatmap" and ex.shape == [6, 32]


def test_scalar_per_position_hooks_and_attention_scores(tiny_run):
    _, cache = tiny_run
    ex = CacheExplorer(cache, selected="blocks.0.ln1.hook_scale")
    assert ex.view == "line" and ex.shape == [6] and ex.col_axis == "position"
    ex.selected = "blocks.1.attn.hook_attn_scores"
    assert ex.view == "heatmap" and (ex.row_axis, ex.col_axis) == ("dest", "src") and ex.controls["head"] == 4
    scores = cache["blocks.1.attn.hook_attn_scores"]
    np.testing.assert_array_equal(ex.tensor(), scores[0, 0].numpy())
    info = ex.summary("blocks.1.attn.hook_attn_scores")
    # The causal mask: -inf exactly above the diagonal of every (batch, head), counted as masked, not as a problem.
    n = scores.shape[-1]
    masked = scores.shape[0] * scores.shape[1] * n * (n - 1) // 2
    assert int(torch.isneginf(scores).sum()) == masked
    assert (info["masked"], info["nonfinite"]) == (masked, 0)
    broken = {"blocks.0.attn.hook_attn_scores": scores.clone().index_put_((torch.tensor([0]), torch.tensor([0]), torch.tensor([0]), torch.tensor([0])), torch.tensor(float("nan")))}
    assert (CacheExplorer(broken).summary("blocks.0.attn.hook_attn_scores")["nonfinite"], summarize("blocks.0.hook_resid_pre", torch.tensor([-float("inf")]))["nonfinite"]) == (1, 1)
    finite = scores[torch.isfinite(scores)].double()
    assert info["mean"] == pytest.approx(float(finite.mean()), rel=1e-6)


def test_front_end_requests_arrive_through_set_state(tiny_run):
    _, cache = tiny_run
    ex = CacheExplorer(cache)
    ex.set_state({"selected": "hook_embed"})  # what a click in the tree sends
    assert ex.view == "heatmap"
    np.testing.assert_array_equal(ex.tensor(), cache["hook_embed"][0].numpy())
    ex.set_state({"batch": 7})  # out of range: clamped, the front end is told
    assert ex.batch == 0


def test_a_plain_dict_stands_in_for_a_cache_and_labels_positions_with_tokens():
    cache = {
        "blocks.0.hook_resid_pre": np.arange(12, dtype=np.float32).reshape(1, 3, 4),
        "blocks.0.attn.hook_pattern": np.full((1, 2, 3, 3), 1 / 3, np.float32),
    }
    ex = CacheExplorer(cache, tokens=["a", "b", "c"], selected="blocks.0.hook_resid_pre")
    assert ex.tokens == ["a", "b", "c"] and ex.row_labels == ["a", "b", "c"]
    assert ex.title == "Activation cache \u00b7 batch 1 \u00b7 3 positions"
    with pytest.raises(ValueError, match="tokens has 2 entries but the cached activations have 3 positions"):
        CacheExplorer(cache, tokens=["a", "b"])
    with pytest.raises(KeyError, match="'nope' is not in the cache"):
        CacheExplorer(cache, selected="nope")
    with pytest.raises(TypeError, match="needs an ActivationCache or a dict"):
        CacheExplorer(torch.zeros(3))


def test_a_cache_without_its_batch_dimension(tiny_run):
    _, cache = tiny_run
    single = cache.apply_slice_to_batch_dim(1).remove_batch_dim()
    ex = CacheExplorer(single, selected="blocks.0.hook_mlp_out")
    assert ex.controls == {"batch": 0, "head": 0, "pos": 6} and ex.view == "heatmap"
    np.testing.assert_array_equal(ex.tensor(), cache["blocks.0.hook_mlp_out"][1].numpy())
    ex.selected = "blocks.0.attn.hook_pattern"
    assert ex.view == "pattern" and ex.shape == [4, 6, 6]


def test_empty_and_bad_requests_show_a_message():
    ex = CacheExplorer({})
    assert ex.view == "empty" and ex.message == "The cache is empty."
    ex2 = CacheExplorer({"x": np.float32(3.0)})
    assert ex2.view == "empty" and ex2.message == "x is a scalar: 3.0"


def test_bad_keys_and_token_rows_are_named(tiny_run):
    with pytest.raises(TypeError, match="cache keys must be hook names .*got int key 5") as info:
        CacheExplorer({"blocks.0.hook_resid_pre": torch.zeros(1, 3, 4), 5: torch.zeros(2)})
    assert "\n" not in str(info.value)
    _, cache = tiny_run  # a batch of 2 prompts, 6 positions
    rows = [[f"p{p}t{i}" for i in range(6)] for p in range(3)]
    with pytest.raises(ValueError, match=r"tokens has 3 rows but the cache holds a batch of 2 prompt\(s\)") as info:
        CacheExplorer(cache, tokens=rows)
    assert "\n" not in str(info.value)
    explorer = CacheExplorer(cache, tokens=rows[:2], selected="blocks.0.hook_resid_pre")
    explorer.batch = 1
    assert explorer.tokens == rows[1]
    assert CacheExplorer(cache, tokens=rows[0]).tokens == rows[0]  # one row labels every prompt
