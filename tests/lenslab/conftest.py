"""Fixtures for the widget tests: a tiny random model and its cache (no download, no tokenizer)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_model():
    import torch

    from transformer_lens import HookedTransformer, HookedTransformerConfig

    torch.manual_seed(0)
    cfg = HookedTransformerConfig(n_layers=2, d_model=32, n_ctx=32, d_head=8, n_heads=4, d_vocab=60, act_fn="gelu", d_mlp=64)
    return HookedTransformer(cfg)


@pytest.fixture(scope="session")
def tiny_run(tiny_model):
    """(tokens [2, 6], cache) of the tiny model."""
    import torch

    tokens = torch.arange(12).reshape(2, 6) % 60
    _, cache = tiny_model.run_with_cache(tokens)
    return tokens, cache


@pytest.fixture(scope="session")
def gpt2_model():
    """The test-built random `gpt2` (conftest's offline hub): has the real GPT-2 tokenizer."""
    from transformer_lens import HookedTransformer

    return HookedTransformer.from_pretrained("gpt2")
