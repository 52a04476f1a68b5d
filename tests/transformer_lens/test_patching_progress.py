"""``patching.shared_progress_bar()``: one progress bar for several sweeps instead of one per call."""

from __future__ import annotations

import re
import threading

import pytest
import torch

from transformer_lens import HookedTransformer, HookedTransformerConfig, _patch_engine, patching


@pytest.fixture(scope="module")
def run():
    cfg = HookedTransformerConfig(n_layers=2, n_heads=2, d_model=8, d_head=4, d_vocab=20, n_ctx=8, attn_only=True, act_fn="gelu", seed=0)
    model = HookedTransformer(cfg).eval()
    generator = torch.Generator().manual_seed(0)
    clean = torch.randint(0, 20, (1, 4), generator=generator)
    corrupted = torch.randint(0, 20, (1, 4), generator=generator)
    with torch.no_grad():
        _, cache = model.run_with_cache(clean)
    return model, corrupted, cache


def metric(logits: torch.Tensor) -> torch.Tensor:
    return logits[0, -1, 3] - logits[0, -1, 5]


SWEEPS = (patching.get_act_patch_resid_pre, patching.get_act_patch_attn_out, patching.get_act_patch_attn_head_out_all_pos)


def finished_bars(stderr: str) -> list[str]:
    """The final state of each bar tqdm printed: one newline-terminated line per closed bar."""
    return [line.rsplit("\r", 1)[-1] for line in stderr.split("\n") if "activation patching" in line]


def test_three_sweeps_print_one_bar_with_every_run_and_the_same_numbers(run, capsys):
    alone = [fn(*run, metric) for fn in SWEEPS]
    separate = finished_bars(capsys.readouterr().err)
    assert len(separate) == 3  # one bar per call, as before
    with patching.shared_progress_bar() as shared:
        together = [fn(*run, metric) for fn in SWEEPS]
        assert patching.get_act_patch_resid_pre(*run, metric, progress=False).shape == (2, 4)  # no bar, none counted
    bars = finished_bars(capsys.readouterr().err)
    total = 2 * 4 + 2 * 4 + 2 * 2  # resid_pre and attn_out: layer x pos; head_out: layer x head
    assert len(bars) == 1 and re.search(rf"\b{total}/{total}\b", bars[0]), bars
    assert shared.bar.n == total
    for a, b in zip(alone, together):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_a_known_total_is_kept_and_callbacks_still_get_their_own_counts(run, capsys):
    calls = []
    with patching.shared_progress_bar(total=20, desc="sweeps") as shared:
        patching.get_act_patch_resid_pre(*run, metric)
        patching.get_act_patch_attn_out(*run, metric, progress=lambda done, total: calls.append((done, total)))
    assert (shared.bar.total, shared.bar.n) == (20, 8)
    assert calls and calls[-1] == (8, 8)
    (bar,) = finished_bars(capsys.readouterr().err.replace("sweeps", "activation patching"))
    assert "8/20" in bar


def test_the_shared_bar_is_not_seen_by_other_threads_or_after_the_block(run, monkeypatch):
    made = []

    class CountingBar(_patch_engine.tqdm):  # type: ignore[name-defined,misc]
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(_patch_engine, "tqdm", CountingBar)
    seen = []
    with patching.shared_progress_bar() as shared:
        worker = threading.Thread(target=lambda: seen.append(patching.get_act_patch_resid_pre(*run, metric)))
        worker.start()
        worker.join()
        patching.get_act_patch_attn_out(*run, metric)
    # The worker (like the sidebar's job thread) made its own bar; the main thread's sweep used the shared one.
    assert seen and shared.bar.n == 8 and len(made) == 2
    patching.get_act_patch_resid_pre(*run, metric)
    assert len(made) == 3 and made[-1].n == 8  # after the block: a bar per call again
