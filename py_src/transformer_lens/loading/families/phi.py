"""Phi-1 / 1.5 / 2: parallel attention and MLP reading one LayerNorm, partial rotary, biased unembed."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families._common import bias_to_heads, linear_from_heads, linear_to_heads, rotary_config, strip_prefixes

HF_ARCHITECTURES = ("PhiForCausalLM",)

OFFICIAL_NAMES: dict[str, tuple[str, ...]] = {}  # names are kept by the model-name registry


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    n_heads = hf_config.num_attention_heads
    d_head = hf_config.hidden_size // n_heads
    n_kv = getattr(hf_config, "num_key_value_heads", None) or n_heads
    return dict(
        d_model=hf_config.hidden_size,
        d_head=d_head,
        n_heads=n_heads,
        n_key_value_heads=n_kv if n_kv != n_heads else None,
        d_mlp=hf_config.intermediate_size,
        n_layers=hf_config.num_hidden_layers,
        n_ctx=hf_config.max_position_embeddings,
        eps=hf_config.layer_norm_eps,
        d_vocab=hf_config.vocab_size,
        act_fn=hf_config.hidden_act,
        normalization_type="LN",
        parallel_attn_mlp=True,
        use_qk_norm=bool(getattr(hf_config, "qk_layernorm", False)),
        default_prepend_bos=False,
        **rotary_config(hf_config, d_head, "phi"),
    )


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    hf = strip_prefixes(hf_tensors, "model.")
    embed = hf["embed_tokens.weight"]
    n_kv = cfg.n_key_value_heads or cfg.n_heads
    sd: dict[str, torch.Tensor] = {"embed.W_E": embed}
    for layer in range(cfg.n_layers):
        src, dst = f"layers.{layer}.", f"blocks.{layer}."
        # One LayerNorm feeds both branches; TransformerLens keeps a copy for each.
        for ln in ("ln1", "ln2"):
            sd[f"{dst}{ln}.w"] = hf[src + "input_layernorm.weight"]
            sd[f"{dst}{ln}.b"] = hf[src + "input_layernorm.bias"]
        for w_name, b_name, proj, heads in (("W_Q", "b_Q", "q_proj", cfg.n_heads), ("W_K", "b_K", "k_proj", n_kv), ("W_V", "b_V", "v_proj", n_kv)):
            sd[dst + "attn." + w_name] = linear_to_heads(hf[src + f"self_attn.{proj}.weight"], heads)
            sd[dst + "attn." + b_name] = bias_to_heads(hf.get(src + f"self_attn.{proj}.bias"), heads, cfg.d_head, embed)
        if cfg.use_qk_norm:
            for ours, theirs in (("q_norm", "q_layernorm"), ("k_norm", "k_layernorm")):
                sd[f"{dst}attn.{ours}.w"] = hf[f"{src}self_attn.{theirs}.weight"]
                sd[f"{dst}attn.{ours}.b"] = hf[f"{src}self_attn.{theirs}.bias"]
        sd[dst + "attn.W_O"] = linear_from_heads(hf[src + "self_attn.dense.weight"], cfg.n_heads)
        sd[dst + "attn.b_O"] = hf[src + "self_attn.dense.bias"]
        sd[dst + "mlp.W_in"], sd[dst + "mlp.b_in"] = hf[src + "mlp.fc1.weight"].T, hf[src + "mlp.fc1.bias"]
        sd[dst + "mlp.W_out"], sd[dst + "mlp.b_out"] = hf[src + "mlp.fc2.weight"].T, hf[src + "mlp.fc2.bias"]
    sd["ln_final.w"], sd["ln_final.b"] = hf["final_layernorm.weight"], hf["final_layernorm.bias"]
    sd["unembed.W_U"] = hf.get("lm_head.weight", embed).T
    sd["unembed.b_U"] = hf.get("lm_head.bias", torch.zeros(cfg.d_vocab_out, dtype=embed.dtype))
    return sd
