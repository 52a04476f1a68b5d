"""sweep over prompt pairs on the local Ray cluster: each pair's result equals the local transformer_lens.patching call."""

from __future__ import annotations

import os

import pytest
import torch

from lenslab.scale import SweepError, sweep, sweep_iter
from lenslab.scale._sweep import logit_diff
from transformer_lens import patching

MODEL = "lenslab/gelu-2l"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pairs():
    generator = torch.Generator().manual_seed(1)
    made = []
    for _ in range(3):
        clean = torch.randint(1, 4096, (1, 8), generator=generator)
        corrupted = clean.clone()
        corrupted[0, 2] = (clean[0, 2] + 7) % 4096
        answer, wrong = torch.randint(1, 4096, (2,), generator=generator).tolist()
        made.append((clean, corrupted, answer, wrong))
    return made


def local(model, function, pair):
    clean, corrupted, answer, wrong = pair
    _, cache = model.run_with_cache(clean)
    return function(model, corrupted, cache, lambda logits: logit_diff(logits, answer, wrong), progress=False)


@pytest.mark.parametrize("function", [patching.get_act_patch_resid_pre, patching.get_act_patch_attn_head_out_all_pos])
def test_results_equal_local_patching(ray_cluster, model, pairs, function):
    results = sweep(function, MODEL, pairs, num_workers=2, progress=False)
    assert len(results) == len(pairs)
    for pair, result in zip(pairs, results):
        expected = local(model, function, pair)
        assert result.shape == expected.shape
        torch.testing.assert_close(result, torch.Tensor(expected), atol=1e-5, rtol=0)


def test_results_stream_per_pair_and_survive_a_lost_worker(ray_cluster, model, pairs, tmp_path):
    marker = tmp_path / "died-once"

    def dies_once(logits, answer, wrong):
        if not marker.exists():  # the first worker to get here dies (kill -9 alike); Ray retries its pair
            marker.write_text("x")
            os._exit(1)
        return logit_diff(logits, answer, wrong)

    seen = list(sweep_iter("resid_pre", MODEL, pairs, metric=dies_once, num_workers=2, progress=False))
    assert marker.exists()
    assert sorted(index for index, _ in seen) == [0, 1, 2]
    for index, result in seen:
        torch.testing.assert_close(result, torch.Tensor(local(model, patching.get_act_patch_resid_pre, pairs[index])), atol=1e-5, rtol=0)


def test_a_failing_pair_is_named(ray_cluster, pairs):
    bad = [pairs[0], (pairs[1][0], pairs[1][1][:, :5], 1, 2)]
    with pytest.raises(SweepError, match=r"pairs\[1\] failed: SweepError: clean and corrupted prompts tokenize to \(1, 8\) and \(1, 5\)"):
        sweep("resid_pre", MODEL, bad, num_workers=2, progress=False)
    with pytest.raises(SweepError, match="not a transformer_lens.patching function"):
        sweep("no_such_sweep", MODEL, pairs)
    with pytest.raises(SweepError, match=r"pairs\[0\]: expected \(clean, corrupted, answer, wrong\)"):
        sweep("resid_pre", MODEL, [("a", "b")])


@pytest.mark.parametrize("function", [patching.get_act_patch_resid_pre, patching.get_act_patch_attn_head_out_by_pos])
def test_one_pair_split_over_workers(ray_cluster, model, pairs, function):
    (result,) = sweep(function, MODEL, pairs[:1], num_workers=2, split=3, progress=False)
    expected = local(model, function, pairs[0])
    assert result.shape == expected.shape
    torch.testing.assert_close(result, torch.Tensor(expected), atol=1e-5, rtol=0)
    with pytest.raises(SweepError, match="split= needs a single"):
        sweep(patching.get_act_patch_block_every, MODEL, pairs[:1], split=2)
