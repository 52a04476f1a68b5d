"""Upstream's remaining HookedRootModule/HookPoint API: introspection, checks, caching hooks, permanent hooks."""

from __future__ import annotations

import threading

import pytest
import torch

from transformer_lens import HookedTransformer


def tiny_model() -> HookedTransformer:
    cfg = dict(n_layers=2, d_model=16, n_ctx=12, d_head=4, n_heads=4, d_vocab=30, act_fn="gelu", seed=1, device="cpu")
    return HookedTransformer(cfg)


@pytest.fixture
def model():
    return tiny_model()


@pytest.fixture
def tokens():
    return torch.randint(0, 30, (2, 7), generator=torch.Generator().manual_seed(0))


def noop(tensor, hook):
    return None


def test_has_hooks_by_direction_permanence_and_level(model):
    hook_point = model.hook_dict["blocks.0.hook_resid_pre"]
    assert not hook_point.has_hooks()
    hook_point.add_perma_hook(noop)
    assert hook_point.has_hooks() and hook_point.has_hooks("fwd") and not hook_point.has_hooks("bwd")
    assert not hook_point.has_hooks(including_permanent=False)
    hook_point.add_hook(noop, dir="bwd", level=3)
    assert hook_point.has_hooks("bwd", including_permanent=False, level=3)
    assert not hook_point.has_hooks("bwd", level=4)
    model.reset_hooks()
    assert hook_point.has_hooks() and not hook_point.has_hooks("bwd")  # the permanent one stays
    with pytest.raises(ValueError, match="dir must be"):
        hook_point.has_hooks("sideways")


def test_has_hooks_sees_this_contexts_scoped_hooks_only(model):
    hook_point = model.hook_dict["hook_embed"]
    seen_elsewhere = []
    with model.hooks(fwd_hooks=[("hook_embed", noop)]):
        assert hook_point.has_hooks()
        other = threading.Thread(target=lambda: seen_elsewhere.append(hook_point.has_hooks()))
        other.start()
        other.join()
    assert seen_elsewhere == [False] and not hook_point.has_hooks()


def test_list_hooks_groups_handles_by_hook_name(model):
    handles = model.add_hook("blocks.1.attn.hook_z", noop)
    model.add_hook(lambda name: name.endswith("hook_scale"), noop, dir="bwd", is_permanent=True)
    listed = model.list_hooks()
    assert listed["blocks.1.attn.hook_z"] == handles
    assert set(listed) == {"blocks.1.attn.hook_z"} | {name for name in model.hook_dict if name.endswith("hook_scale")}
    assert set(model.list_hooks(dir="fwd")) == {"blocks.1.attn.hook_z"}
    assert set(model.list_hooks(including_permanent=False)) == {"blocks.1.attn.hook_z"}
    assert set(model.list_hooks(["blocks.1.attn.hook_z", "hook_embed"])) == {"blocks.1.attn.hook_z"}
    assert model.list_hooks("hook_embed") == {}


def test_check_hooks_to_add_can_refuse_any_hook(model, tokens):
    refused = []

    def refuse_pattern_hooks(hook_point, hook_point_name, hook, dir="fwd", is_permanent=False, prepend=False):
        if hook_point_name.endswith("hook_pattern"):
            refused.append(hook_point_name)
            raise ValueError(f"no hooks on {hook_point_name}")

    model.check_hooks_to_add = refuse_pattern_hooks
    with pytest.raises(ValueError, match="no hooks on blocks.0.attn.hook_pattern"):
        model.add_hook("blocks.0.attn.hook_pattern", noop)
    with pytest.raises(ValueError, match="no hooks on blocks.1.attn.hook_pattern"):
        model.run_with_hooks(tokens, fwd_hooks=[("blocks.0.hook_resid_pre", noop), ("blocks.1.attn.hook_pattern", noop)])
    assert refused == ["blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern"]
    assert model.list_hooks() == {}  # all or nothing: the accepted hook was not attached either
    handle = model.check_and_add_hook(model.hook_dict["hook_embed"], "hook_embed", noop)
    assert model.list_hooks() == {"hook_embed": [handle]}


def test_add_caching_hooks_fill_the_cache_on_every_run(model, tokens):
    cache = model.add_caching_hooks(names_filter=["blocks.0.hook_resid_post", "hook_embed"])
    assert cache == {}
    logits = model(tokens)
    _, expected = model.run_with_cache(tokens, names_filter=["blocks.0.hook_resid_post", "hook_embed"])
    assert set(cache) == set(expected)
    for name in cache:
        torch.testing.assert_close(cache[name], expected[name])
    model.reset_hooks()
    cache.clear()
    model(tokens)
    assert cache == {} and logits.shape == (2, 7, 30)


def test_add_caching_hooks_with_gradients(model, tokens):
    cache = model.add_caching_hooks(names_filter=lambda name: name == "blocks.1.hook_resid_pre", incl_bwd=True, remove_batch_dim=False)
    model(tokens).sum().backward()
    model.reset_hooks()
    assert set(cache) == {"blocks.1.hook_resid_pre", "blocks.1.hook_resid_pre_grad"}
    assert cache["blocks.1.hook_resid_pre_grad"].shape == cache["blocks.1.hook_resid_pre"].shape


def test_enable_hook_adds_hooks_at_the_context_level(model, tokens):
    seen = []
    model.context_level = 2
    model._enable_hook("blocks.0.hook_resid_pre", lambda t, hook: seen.append(hook.name), "fwd")
    model._enable_hook(lambda name: name.endswith("hook_resid_post"), lambda t, hook: seen.append(hook.name), "fwd")
    model(tokens)
    assert seen == ["blocks.0.hook_resid_pre", "blocks.0.hook_resid_post", "blocks.1.hook_resid_post"]
    assert model.hook_dict["blocks.0.hook_resid_pre"].has_hooks(level=2)
    model.remove_all_hook_fns(level=2)
    assert not any(hp.has_hooks() for hp in model.hook_points())
