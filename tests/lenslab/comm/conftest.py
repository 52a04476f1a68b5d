"""Fixtures for the sidebar comm tests: a fake comm and small models with GPT-2's tokenizer."""

from __future__ import annotations

import pytest
from sidebar_fakes import FakePanel

from lenslab.comm import protocol as p


@pytest.fixture(scope="session")
def schema_validator():
    import jsonschema

    return jsonschema.Draft202012Validator(p.json_schema())


@pytest.fixture
def make_panel(schema_validator):
    return lambda: FakePanel(schema_validator)


def _tiny(gpt2_tokenizer, **overrides):
    import torch

    from transformer_lens import HookedTransformer, HookedTransformerConfig

    torch.manual_seed(0)
    kwargs = dict(n_layers=2, d_model=32, n_ctx=64, d_head=8, n_heads=4, d_vocab=50257, act_fn="gelu", d_mlp=64)
    kwargs.update(overrides)
    model = HookedTransformer(HookedTransformerConfig(**kwargs))
    model.set_tokenizer(gpt2_tokenizer)
    return model


@pytest.fixture(scope="session")
def lm(gpt2_tokenizer):
    """2 layers, 4 heads, d_model 32, GPT-2's vocabulary and tokenizer, random weights."""
    return _tiny(gpt2_tokenizer)


@pytest.fixture(scope="session")
def attn_only(gpt2_tokenizer):
    return _tiny(gpt2_tokenizer, attn_only=True, d_mlp=None)


@pytest.fixture(scope="session")
def no_tokenizer():
    import torch

    from transformer_lens import HookedTransformer, HookedTransformerConfig

    torch.manual_seed(1)
    return HookedTransformer(HookedTransformerConfig(n_layers=1, d_model=16, n_ctx=8, d_head=4, n_heads=4, d_vocab=20, act_fn="gelu", d_mlp=32))


@pytest.fixture
def namespace(lm, attn_only, no_tokenizer):
    return {"model": lm, "attn": attn_only, "bare": no_tokenizer, "_hidden": lm, "x": 3, "In": [], "Out": {}}


@pytest.fixture
def runner():
    from lenslab.comm.jobs import JobRunner

    r = JobRunner()
    yield r
    r.cancel_all()
    assert r.wait_idle(60), "a job did not stop"


@pytest.fixture
def session(make_panel, namespace, runner):
    """(panel, handler) talking over the fake comm."""
    from lenslab.comm.handler import SidebarHandler

    panel = make_panel()
    handler = SidebarHandler(panel.send, lambda: namespace, runner)
    yield panel, handler
    handler.close()

