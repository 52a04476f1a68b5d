"""set_use_* switches and hook_names.silent_reason, checked against hooks that actually fire."""

from __future__ import annotations

import pytest
import torch

from transformer_lens import HookedTransformer, HookedTransformerConfig, hook_names

BASE = dict(n_layers=2, d_model=32, n_ctx=16, d_head=8, n_heads=4, d_vocab=50, act_fn="gelu", d_mlp=64, seed=0)
SHAPES = {
    "gpt2-like": {},
    "attn-only": {"attn_only": True},
    "rotary, RMS, gated, grouped-query": {
        "positional_embedding_type": "rotary", "normalization_type": "RMS", "gated_mlp": True,
        "act_fn": "silu", "n_key_value_heads": 2,
    },
}
TOKENS = torch.tensor([[1, 5, 9, 2, 7]])


def fired(model: HookedTransformer) -> set[str]:
    names: set[str] = set()
    model.run_with_hooks(TOKENS, fwd_hooks=[(lambda name: True, lambda act, hook: names.add(hook.name))])
    return names


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
@pytest.mark.parametrize("switches", [(), ("attn_result", "split_qkv_input", "hook_mlp_in"), ("attn_in",)])
def test_silent_reason_names_exactly_the_hooks_that_do_not_fire(shape, switches):
    model = HookedTransformer(HookedTransformerConfig(**{**BASE, **SHAPES[shape]}))
    for switch in switches:
        if switch == "hook_mlp_in" and model.cfg.attn_only:
            continue
        if switch == "attn_in" and model.cfg.n_key_value_heads is not None:
            continue
        getattr(model, f"set_use_{switch}")(True)
    silent = {name for name in model.hook_dict if hook_names.silent_reason(name, model.cfg)}
    assert silent == set(model.hook_dict) - fired(model)
    for name in silent:
        reason = hook_names.silent_reason(name, model.cfg)
        assert "\n" not in reason and ("set_use_" in reason or "attention-only" in reason or "config" in reason)


def test_attn_result_heads_sum_to_the_attention_output():
    model = HookedTransformer(HookedTransformerConfig(**BASE))
    _, before = model.run_with_cache(TOKENS)
    model.set_use_attn_result(True)
    logits, cache = model.run_with_cache(TOKENS)
    summed = cache["blocks.1.attn.hook_result"].sum(dim=2) + model.blocks[1].attn.b_O
    torch.testing.assert_close(summed, cache["blocks.1.hook_attn_out"], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(cache["blocks.1.hook_attn_out"], before["blocks.1.hook_attn_out"], rtol=1e-5, atol=1e-5)
    model.set_use_attn_result(False)
    assert "blocks.1.attn.hook_result" not in model.run_with_cache(TOKENS)[1]


def test_split_qkv_input_lets_one_head_query_be_patched_alone():
    model = HookedTransformer(HookedTransformerConfig(**BASE))
    baseline = model(TOKENS)
    model.set_use_split_qkv_input(True)
    torch.testing.assert_close(model(TOKENS), baseline, rtol=1e-5, atol=1e-5)

    def zero_head_0(q_input, hook):
        q_input[:, :, 0] = 0.0
        return q_input

    with model.hooks(fwd_hooks=[("blocks.0.hook_q_input", zero_head_0)]):
        _, cache = model.run_with_cache(TOKENS)
    _, clean = model.run_with_cache(TOKENS)
    changed = (cache["blocks.0.attn.hook_q"] - clean["blocks.0.attn.hook_q"]).abs().amax(dim=(0, 1, 3))
    assert changed[0] > 0 and torch.all(changed[1:] == 0)
    # In-place edits stay in the query input: keys, values and the residual stream are untouched.
    for name in ("blocks.0.attn.hook_k", "blocks.0.attn.hook_v", "blocks.0.hook_resid_pre", "blocks.0.hook_k_input"):
        torch.testing.assert_close(cache[name], clean[name])


def test_ungrouped_keys_repeat_the_groups_and_change_nothing_else():
    model = HookedTransformer(HookedTransformerConfig(**BASE, n_key_value_heads=2))
    logits, grouped = model.run_with_cache(TOKENS)
    model.set_ungroup_grouped_query_attention(True)
    ungrouped_logits, ungrouped = model.run_with_cache(TOKENS)
    assert grouped["blocks.0.attn.hook_k"].shape[2] == 2 and ungrouped["blocks.0.attn.hook_k"].shape[2] == 4
    torch.testing.assert_close(ungrouped["blocks.0.attn.hook_v"], grouped["blocks.0.attn.hook_v"].repeat_interleave(2, dim=2))
    torch.testing.assert_close(ungrouped_logits, logits)


def test_conflicting_switches_give_one_line_reasons():
    model = HookedTransformer(HookedTransformerConfig(**BASE))
    model.set_use_split_qkv_input(True)
    with pytest.raises(ValueError, match="cannot both be on"):
        model.set_use_attn_in(True)
    assert model.cfg.use_attn_in is False
    with pytest.raises(ValueError, match="attention-only"):
        HookedTransformer(HookedTransformerConfig(**BASE, attn_only=True)).set_use_hook_mlp_in(True)
    with pytest.raises(ValueError, match="grouped-query"):
        HookedTransformer(HookedTransformerConfig(**BASE, n_key_value_heads=2)).set_use_attn_in(True)


def test_in_place_edit_of_pos_embed_touches_neither_weights_nor_other_rows():
    model = HookedTransformer(HookedTransformerConfig(**BASE))
    weights = model.pos_embed.W_pos.detach().clone()
    tokens = torch.tensor([[1, 5, 9], [2, 3, 4]])

    def zero_first_row(pos_embed, hook):
        pos_embed[0] = 0.0
        return pos_embed

    with torch.no_grad():
        with model.hooks(fwd_hooks=[("hook_pos_embed", zero_first_row)]):
            _, cache = model.run_with_cache(tokens)
    assert torch.equal(model.pos_embed.W_pos, weights)
    assert torch.all(cache["hook_pos_embed"][0] == 0)
    torch.testing.assert_close(cache["hook_pos_embed"][1], weights[:3])


@pytest.mark.parametrize("ungroup", [False, True])
def test_split_key_value_inputs_have_one_head_per_key_value_head_under_gqa(ungroup):
    model = HookedTransformer(HookedTransformerConfig(**BASE, n_key_value_heads=2))
    baseline = model(TOKENS)
    model.set_ungroup_grouped_query_attention(ungroup)
    model.set_use_split_qkv_input(True)
    logits, cache = model.run_with_cache(TOKENS)
    n_kv = 4 if ungroup else 2
    assert cache["blocks.0.hook_q_input"].shape[2] == 4
    assert cache["blocks.0.hook_k_input"].shape[2] == n_kv and cache["blocks.0.hook_v_input"].shape[2] == n_kv
    torch.testing.assert_close(logits, baseline, rtol=1e-5, atol=1e-5)

    # Patching one key input changes that key (group, or head when ungrouped) and no other.
    def zero_first(k_input, hook):
        k_input[:, :, 0] = 0.0
        return k_input

    with model.hooks(fwd_hooks=[("blocks.0.hook_k_input", zero_first)]):
        _, patched = model.run_with_cache(TOKENS)
    changed = (patched["blocks.0.attn.hook_k"] - cache["blocks.0.attn.hook_k"]).abs().amax(dim=(0, 1, 3))
    assert changed[0] > 0 and torch.all(changed[1:] == 0)
