"""The sidebar's metric registry: each entry's function equals its Insert-as-code source, executed."""

from __future__ import annotations

import pytest
import torch

from lenslab.comm.recipes import METRICS, InvalidJob

CORRECT, INCORRECT = 5, 11


def _logits(seed: int) -> torch.Tensor:
    return torch.randn(3, 4, 20, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", list(METRICS))
def test_metric_function_equals_its_source_text(name):
    spec = METRICS[name]
    clean, corrupted, patched = _logits(0), _logits(1), _logits(2)
    incorrect = INCORRECT if spec.needs_incorrect else None
    function = spec.build(CORRECT, incorrect, clean, corrupted)
    namespace = {"correct_token_7": CORRECT, "incorrect_token_7": incorrect, "clean_logits_7": clean, "corrupted_logits_7": corrupted}
    exec(spec.source.format(s="_7"), namespace)
    for logits in (patched, clean, corrupted, _logits(3)):
        assert torch.equal(function(logits), namespace["metric_7"](logits))
    assert function(patched).shape == ()


def test_normalized_metric_is_zero_on_corrupted_and_one_on_clean():
    clean, corrupted = _logits(0), _logits(1)
    metric = METRICS["normalized_logit_diff"].build(CORRECT, INCORRECT, clean, corrupted)
    assert metric(corrupted).item() == pytest.approx(0.0, abs=1e-6)
    assert metric(clean).item() == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(InvalidJob, match="same logit difference"):
        METRICS["normalized_logit_diff"].build(CORRECT, INCORRECT, clean, clean)


def test_metrics_without_an_incorrect_answer_do_not_read_one():
    metric = METRICS["correct_logprob"].build(CORRECT, None, _logits(0), _logits(1))
    logits = _logits(2)
    assert torch.allclose(metric(logits), logits[:, -1].log_softmax(-1)[:, CORRECT].mean())
