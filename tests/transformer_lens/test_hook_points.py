"""Hook mechanics: adding, replacing, removing (also after errors), caching and gradients."""

import pytest
import torch

from transformer_lens import HookedTransformer, HookedTransformerConfig


def tiny_model(**overrides):
    cfg = dict(n_layers=2, d_model=16, n_ctx=12, d_head=4, n_heads=4, d_vocab=30, act_fn="gelu", seed=1, device="cpu")
    cfg.update(overrides)
    return HookedTransformer(HookedTransformerConfig(**cfg))


def no_hooks_left(model):
    return all(not hp.fwd_hooks and not hp.bwd_hooks for hp in model.hook_points())


@pytest.fixture
def model():
    return tiny_model()


@pytest.fixture
def tokens():
    return torch.randint(0, 30, (2, 7), generator=torch.Generator().manual_seed(0))


def test_hook_names_follow_upstream(model):
    names = set(model.hook_dict)
    for expected in (
        "hook_embed",
        "hook_pos_embed",
        "blocks.0.hook_resid_pre",
        "blocks.0.ln1.hook_scale",
        "blocks.0.attn.hook_q",
        "blocks.0.attn.hook_pattern",
        "blocks.0.attn.hook_z",
        "blocks.1.mlp.hook_post",
        "blocks.1.hook_resid_post",
        "ln_final.hook_normalized",
    ):
        assert expected in names
    assert model.hook_dict["blocks.1.attn.hook_k"].layer() == 1


def test_ablating_a_head_through_hook_z_removes_exactly_its_contribution(model, tokens):
    clean_logits, cache = model.run_with_cache(tokens)

    def zero_head_2(z, hook):
        z = z.clone()
        z[:, :, 2] = 0.0
        return z

    with model.hooks(fwd_hooks=[("blocks.1.attn.hook_z", zero_head_2)]):
        ablated_logits, hooked_cache = model.run_with_cache(tokens)
    # Oracle: the head's output z @ W_O, computed by hand from the clean cache.
    head_out = torch.einsum("bpd,dm->bpm", cache["blocks.1.attn.hook_z"][:, :, 2], model.blocks[1].attn.W_O[2])
    expected_attn_out = cache["blocks.1.hook_attn_out"] - head_out
    torch.testing.assert_close(hooked_cache["blocks.1.hook_attn_out"], expected_attn_out, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(hooked_cache["blocks.0.hook_resid_post"], cache["blocks.0.hook_resid_post"])
    assert not torch.allclose(ablated_logits, clean_logits)
    assert no_hooks_left(model)


def test_hook_returning_none_keeps_activation_and_prepend_orders_hooks(model, tokens):
    calls = []
    model.add_hook("blocks.0.hook_resid_pre", lambda x, hook: calls.append("second"))
    model.add_hook("blocks.0.hook_resid_pre", lambda x, hook: calls.append("first"), prepend=True)
    reference = tiny_model()(tokens)
    torch.testing.assert_close(model(tokens), reference)
    assert calls == ["first", "second"]
    model.reset_hooks()
    assert no_hooks_left(model)


def test_permanent_hooks_survive_reset_unless_asked(model, tokens):
    seen = []
    model.add_perma_hook("hook_embed", lambda x, hook: seen.append(hook.name))
    model.reset_hooks()
    model(tokens)
    assert seen == ["hook_embed"]
    model.reset_hooks(including_permanent=True)
    model(tokens)
    assert seen == ["hook_embed"]


def test_filter_function_targets_every_matching_hook(model, tokens):
    seen = []
    model.run_with_hooks(tokens, fwd_hooks=[(lambda name: name.endswith("hook_resid_post"), lambda x, hook: seen.append(hook.name))])
    assert seen == ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post"]
    assert no_hooks_left(model)


def test_hooks_are_removed_when_a_hook_raises(model, tokens):
    def broken(x, hook):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        model.run_with_hooks(tokens, fwd_hooks=[("hook_embed", lambda x, hook: None), ("blocks.1.hook_resid_pre", broken)])
    assert no_hooks_left(model)
    with pytest.raises(RuntimeError, match="boom"):
        with model.hooks(fwd_hooks=[("blocks.0.attn.hook_pattern", broken)]):
            model(tokens)
    assert no_hooks_left(model)
    with pytest.raises(RuntimeError, match="boom"):
        with model.hooks(fwd_hooks=[("blocks.0.hook_mlp_out", broken)]):
            model.run_with_cache(tokens)
    assert no_hooks_left(model)


def test_run_with_cache_cleans_up_when_forward_raises(model):
    with pytest.raises(TypeError, match="integer tensor"):
        model.run_with_cache(torch.tensor([[1.5, 2.0]]))
    assert no_hooks_left(model)


def test_unknown_hook_name_suggests_close_names(model, tokens):
    with pytest.raises(KeyError, match="blocks.0.hook_resid_pre"):
        model.run_with_hooks(tokens, fwd_hooks=[("blocks.0.hook_resid_pr", lambda x, hook: x)])
    with pytest.raises(KeyError, match="did you mean|Did you mean"):
        model.run_with_cache(tokens, names_filter=["blocks.0.attn.hook_patern"])
    assert no_hooks_left(model)


def test_names_filter_variants(model, tokens):
    _, one = model.run_with_cache(tokens, names_filter="blocks.0.attn.hook_z")
    assert list(one.keys()) == ["blocks.0.attn.hook_z"]
    _, some = model.run_with_cache(tokens, names_filter=lambda n: "hook_resid" in n)
    assert set(some.keys()) == {f"blocks.{l}.hook_resid_{p}" for l in range(2) for p in ("pre", "mid", "post")}
    _, every = model.run_with_cache(tokens)
    torch.testing.assert_close(some["blocks.1.hook_resid_mid"], every["blocks.1.hook_resid_mid"])


def test_cache_options_remove_batch_dim_device_and_pos_slice(model, tokens):
    _, full = model.run_with_cache(tokens)
    _, single = model.run_with_cache(tokens[:1], remove_batch_dim=True)
    torch.testing.assert_close(single["blocks.0.hook_resid_post"], full["blocks.0.hook_resid_post"][0])
    _, last = model.run_with_cache(tokens, pos_slice=-1)
    torch.testing.assert_close(last["blocks.0.hook_resid_post"], full["blocks.0.hook_resid_post"][:, -1:])
    torch.testing.assert_close(last["blocks.0.attn.hook_pattern"], full["blocks.0.attn.hook_pattern"][:, :, -1:])
    _, raw = model.run_with_cache(tokens, return_cache_object=False, device="cpu")
    assert isinstance(raw, dict) and set(raw) == set(full.keys())


def test_pattern_hook_path_equals_fused_attention(model, tokens):
    fused = model(tokens)
    _, cache = model.run_with_cache(tokens, names_filter="blocks.0.attn.hook_pattern")
    explicit = model.run_with_hooks(tokens, fwd_hooks=[(lambda n: n.endswith("hook_pattern"), lambda x, hook: None)])
    torch.testing.assert_close(fused, explicit, atol=1e-5, rtol=1e-5)
    pattern = cache["blocks.0.attn.hook_pattern"]
    torch.testing.assert_close(pattern.sum(-1), torch.ones_like(pattern.sum(-1)))
    assert torch.all(pattern.triu(diagonal=1) == 0)


def test_activations_stay_on_the_graph_and_backward_hooks_fire(model, tokens):
    grads = {}
    model.add_hook("blocks.0.hook_resid_post", lambda g, hook: grads.setdefault(hook.name, g.clone()), dir="bwd")
    stored = {}

    def keep(x, hook):
        x.retain_grad()
        stored["act"] = x

    logits = model.run_with_hooks(tokens, fwd_hooks=[("blocks.0.hook_resid_post", keep)])
    logits[0, -1, 3].backward()
    model.reset_hooks()
    torch.testing.assert_close(grads["blocks.0.hook_resid_post"], stored["act"].grad)
    assert stored["act"].grad.abs().sum() > 0
    assert no_hooks_left(model)


def test_run_with_cache_incl_bwd_stores_gradients(model, tokens):
    loss, cache = model.run_with_cache(tokens, return_type="loss", incl_bwd=True)
    assert "blocks.0.hook_resid_post_grad" in cache
    # Oracle: autograd on a manual re-run.
    stored = {}

    def keep(x, hook):
        x.retain_grad()
        stored["act"] = x

    model.zero_grad()
    manual = model.run_with_hooks(tokens, return_type="loss", fwd_hooks=[("blocks.0.hook_resid_post", keep)])
    manual.backward()
    torch.testing.assert_close(cache["blocks.0.hook_resid_post_grad"], stored["act"].grad)
    assert no_hooks_left(model)


def test_split_qkv_and_attn_result_hooks_do_not_change_outputs(tokens):
    base = tiny_model()
    split = tiny_model(use_split_qkv_input=True, use_attn_result=True, use_hook_mlp_in=True)
    split.load_state_dict(base.state_dict())
    torch.testing.assert_close(split(tokens), base(tokens), atol=1e-5, rtol=1e-5)
    _, cache = split.run_with_cache(tokens)
    assert cache["blocks.0.hook_q_input"].shape == (2, 7, 4, 16)
    result = cache["blocks.0.attn.hook_result"]
    torch.testing.assert_close(result.sum(2) + split.blocks[0].attn.b_O, cache["blocks.0.hook_attn_out"], atol=1e-5, rtol=1e-5)


def test_editing_the_layer_norm_scale_takes_effect(model, tokens):
    _, cache = model.run_with_cache(tokens, names_filter=["blocks.0.ln1.hook_scale", "blocks.0.ln1.hook_normalized", "blocks.0.hook_resid_pre"])
    resid = cache["blocks.0.hook_resid_pre"]
    centered = resid - resid.mean(-1, keepdim=True)
    torch.testing.assert_close(cache["blocks.0.ln1.hook_scale"], centered.pow(2).mean(-1, keepdim=True).add(1e-5).sqrt())
    for edit in (lambda s, hook: s * 2, lambda s, hook: s.mul_(2)):
        with model.hooks(fwd_hooks=[("blocks.0.ln1.hook_scale", edit)]):
            _, edited = model.run_with_cache(tokens, names_filter="blocks.0.ln1.hook_normalized")
        ln = model.blocks[0].ln1
        expected = centered / (2 * cache["blocks.0.ln1.hook_scale"]) * ln.w + ln.b
        torch.testing.assert_close(edited["blocks.0.ln1.hook_normalized"], expected, atol=1e-5, rtol=1e-5)
