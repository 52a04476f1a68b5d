"""top_examples against brute force over run_with_cache on all the tokens (neuron, head, direction, SAE latent)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lenslab
from lenslab.scale import HarvestError, Head, harvest, open_store, top_examples

MODEL = "lenslab/gelu-2l"
HOOKS = ["blocks.0.mlp.hook_post", "blocks.1.attn.hook_z", "blocks.1.hook_resid_post"]


@pytest.fixture(scope="module")
def store(tokens, tmp_path_factory):
    out = tmp_path_factory.mktemp("top") / "h"
    return open_store(harvest(MODEL, tokens, HOOKS, out, batch_size=4, seqs_per_shard=8, num_workers=0, progress=False))


@pytest.fixture(scope="module")
def cache(model, tokens, oracle):
    return oracle(model, tokens, HOOKS, batch_size=4)


def brute_force(values, model, tokens, k, before, after):
    """The reference: top-k over every (sequence, position), contexts cut from the tokens."""
    top = torch.topk(values.reshape(-1), k)
    expected = []
    for score, index in zip(top.values.tolist(), top.indices.tolist()):
        row, pos = divmod(index, values.shape[1])
        lo, hi = max(0, pos - before), min(values.shape[1], pos + after + 1)
        expected.append((score, (row, pos), model.to_str_tokens(tokens[row, lo:hi], prepend_bos=False), values[row, lo:hi].tolist()))
    return expected


def check(result, values, model, tokens, k=5, before=10, after=4):
    expected = brute_force(values, model, tokens, k, before, after)
    assert result.locations == [location for _, location, _, _ in expected]
    np.testing.assert_allclose(result.scores, [score for score, *_ in expected], rtol=0, atol=1e-5)
    assert result.contexts == [context for *_, context, _ in expected]
    for got, (*_, want) in zip(result.values, expected):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    for context, values_row, focus, score in zip(result.contexts, result.values, result.focus, result.scores):
        assert len(context) == len(values_row) and values_row[focus] == pytest.approx(score, abs=1e-5)
    counts, edges = np.histogram(values.reshape(-1).numpy(), bins=40)
    assert result.hist_counts == counts.tolist() and sum(result.hist_counts) == values.numel()
    np.testing.assert_allclose(result.hist_edges, edges, rtol=1e-6)


def test_neuron(store, cache, model, tokens):
    result = top_examples(store, "blocks.0.mlp.hook_post", 17, k=5)
    check(result, cache["blocks.0.mlp.hook_post"][..., 17], model, tokens)
    assert result.unit == "neuron 17" and "top 5 of 768 tokens" in result.title


def test_head_and_direction(store, cache, model, tokens):
    head = top_examples(store, "blocks.1.attn.hook_z", Head(3), k=5, context=(3, 2))
    check(head, cache["blocks.1.attn.hook_z"][:, :, 3].norm(dim=-1), model, tokens, before=3, after=2)
    direction = torch.randn(256, generator=torch.Generator().manual_seed(0))
    projected = top_examples(store, "blocks.1.hook_resid_post", direction, k=5)
    check(projected, cache["blocks.1.hook_resid_post"] @ direction, model, tokens)


def test_sae_latent(store, cache, model, tokens):
    pytest.importorskip("sae_lens", reason='sae-lens is not installed (pip install -e ".[sae]")')
    from sae_lens import StandardSAE, StandardSAEConfig
    from sae_lens.saes.sae import SAEMetadata

    torch.manual_seed(0)
    hook = "blocks.1.hook_resid_post"
    sae = StandardSAE(StandardSAEConfig(d_in=256, d_sae=64, dtype="float32", device="cpu", metadata=SAEMetadata(hook_name=hook, model_name=MODEL)))
    with torch.no_grad():
        for param in sae.parameters():
            param.normal_(0.0, 0.2)
    sae.eval()
    with torch.no_grad():
        latents = sae.encode(cache[hook])[..., 5]
    assert (latents > 0).sum() > 5  # enough firing tokens for an unambiguous top 5
    result = top_examples(store, hook, 5, k=5, sae=sae)
    check(result, latents, model, tokens)
    assert result.unit == "SAE latent 5"


@pytest.mark.parametrize(
    "hook, unit, message",
    [
        ("blocks.0.mlp.hook_post", 5000, r"neuron 5000 does not fit blocks.0.mlp.hook_post's vectors \(1024,\)"),
        ("blocks.0.mlp.hook_post", Head(0), r"Head\(0\) needs a per-head hook"),
        ("blocks.1.hook_resid_post", torch.ones(3), r"a direction of shape \(3,\) does not fit"),
        ("blocks.0.hook_mlp_out", 1, r"'blocks.0.hook_mlp_out' was not harvested"),
        ("blocks.0.mlp.hook_post", "x", r"unit: expected a neuron index"),
    ],
)
def test_bad_units(store, hook, unit, message):
    with pytest.raises(HarvestError, match=message):
        top_examples(store, hook, unit)


def test_show_passes_the_widget_arguments(store, monkeypatch):
    calls = []
    monkeypatch.setattr(lenslab, "TopExamples", lambda **kwargs: calls.append(kwargs) or "widget", raising=False)
    result = top_examples(store, "blocks.0.mlp.hook_post", 3, k=4)
    assert result.show() == "widget"
    assert calls == [
        {"contexts": result.contexts, "values": result.values, "scores": result.scores,
         "hist_counts": result.hist_counts, "hist_edges": result.hist_edges, "title": result.title}
    ]


def test_show_builds_the_real_widget(store):
    try:
        widget_class = lenslab.TopExamples
    except AttributeError:
        pytest.skip("lenslab.TopExamples is not merged yet")
    widget = top_examples(store, "blocks.0.mlp.hook_post", 3, k=4).show()
    assert isinstance(widget, widget_class)
