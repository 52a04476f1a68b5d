"""Direct path patching against an explicit run: only the destination head's input sees the source head's change."""

from __future__ import annotations

import pytest
import torch

from transformer_lens import HookedTransformer
from transformer_lens.tools.analysis.direct_path_patching import get_act_patch_direct_path


@pytest.fixture(scope="module")
def setup():
    model = HookedTransformer.from_pretrained("lenslab/attn-only-2l", device="cpu")  # layer norms folded
    clean = model.to_tokens("value = values[index]\nresult = value + 1")
    corrupted = clean.clone()
    corrupted[0, 1:6] = torch.randint(100, model.cfg.d_vocab, (5,), generator=torch.Generator().manual_seed(0))
    _, clean_cache = model.run_with_cache(clean)
    _, corrupted_cache = model.run_with_cache(corrupted)
    return model, corrupted, clean_cache, corrupted_cache


def metric(logits: torch.Tensor) -> torch.Tensor:
    return logits[0, -1, 100] - logits[0, -1, 200]


def explicit_path_patch(model, corrupted, clean_cache, corrupted_cache, src, dst, component):
    """The corrupted run with the source head's clean-minus-corrupted output added to one destination head's
    (per-head) input, while that layer's norm scale stays the corrupted run's."""
    (src_layer, src_head), (dst_layer, dst_head) = src, dst
    w_o = model.blocks[src_layer].attn.W_O[src_head]
    delta = (clean_cache[f"blocks.{src_layer}.attn.hook_z"][:, :, src_head] - corrupted_cache[f"blocks.{src_layer}.attn.hook_z"][:, :, src_head]) @ w_o
    frozen_scale = corrupted_cache[f"blocks.{dst_layer}.ln1.hook_scale"]

    def add_to_head(per_head, hook):
        per_head = per_head.clone()
        per_head[:, :, dst_head] += delta
        return per_head

    def freeze_scale(scale, hook):
        return frozen_scale[:, :, None, :].expand_as(scale).clone()

    model.set_use_split_qkv_input(True)
    try:
        logits = model.run_with_hooks(
            corrupted,
            fwd_hooks=[(f"blocks.{dst_layer}.hook_{component}_input", add_to_head), (f"blocks.{dst_layer}.ln1.hook_scale", freeze_scale)],
        )
    finally:
        model.set_use_split_qkv_input(False)
    return metric(logits).item()


@pytest.mark.parametrize("component", ["q", "k", "v"])
def test_each_entry_equals_the_explicit_path_patch(setup, component):
    model, corrupted, clean_cache, corrupted_cache = setup
    results = get_act_patch_direct_path(model, corrupted, clean_cache, corrupted_cache, metric, 0, 7, component=component)
    assert results.shape == (2, 8) and not results[0].any()  # no path into the source's own layer or earlier
    for dst_head in (0, 3, 6):
        expected = explicit_path_patch(model, corrupted, clean_cache, corrupted_cache, (0, 7), (1, dst_head), component)
        assert results[1, dst_head].item() == pytest.approx(expected, abs=1e-4)
    assert all(not hp.fwd_hooks for hp in model.hook_points())


def test_no_difference_means_the_corrupted_metric(setup):
    model, corrupted, _, corrupted_cache = setup
    results = get_act_patch_direct_path(model, corrupted, corrupted_cache, corrupted_cache, metric, 0, 2)
    torch.testing.assert_close(results[1], torch.full((8,), metric(model(corrupted)).item()), atol=1e-4, rtol=0)


def test_bad_arguments(setup):
    model, corrupted, clean_cache, corrupted_cache = setup
    with pytest.raises(ValueError, match="component must be"):
        get_act_patch_direct_path(model, corrupted, clean_cache, corrupted_cache, metric, 0, 0, component="o")
    with pytest.raises(ValueError, match=r"source head \(2, 0\) is outside"):
        get_act_patch_direct_path(model, corrupted, clean_cache, corrupted_cache, metric, 2, 0)
