"""GPT-J: parallel attention and MLP reading one LayerNorm, adjacent-pair rotary, biased unembed."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families._common import (
    bias_to_heads,
    gpt2_style_sizes,
    linear_from_heads,
    linear_to_heads,
    strip_prefixes,
)

HF_ARCHITECTURES = ("GPTJForCausalLM",)


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    return dict(
        **gpt2_style_sizes(hf_config),
        positional_embedding_type="rotary",
        rotary_dim=hf_config.rotary_dim or hf_config.n_embd // hf_config.n_head,
        rotary_adjacent_pairs=True,
        parallel_attn_mlp=True,
    )


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    hf = strip_prefixes(hf_tensors, "transformer.")
    sd: dict[str, torch.Tensor] = {"embed.W_E": hf["wte.weight"]}
    for layer in range(cfg.n_layers):
        src, dst = f"h.{layer}.", f"blocks.{layer}."
        # One LayerNorm feeds both branches; our parallel block reads ln1 and ln2, so both get it.
        for ln in ("ln1", "ln2"):
            sd[f"{dst}{ln}.w"], sd[f"{dst}{ln}.b"] = hf[src + "ln_1.weight"], hf[src + "ln_1.bias"]
        for ours, theirs in (("W_Q", "q_proj"), ("W_K", "k_proj"), ("W_V", "v_proj")):
            sd[dst + "attn." + ours] = linear_to_heads(hf[src + f"attn.{theirs}.weight"], cfg.n_heads)
        for ours in ("b_Q", "b_K", "b_V"):
            sd[dst + "attn." + ours] = bias_to_heads(None, cfg.n_heads, cfg.d_head, hf["wte.weight"])
        sd[dst + "attn.W_O"] = linear_from_heads(hf[src + "attn.out_proj.weight"], cfg.n_heads)
        sd[dst + "attn.b_O"] = torch.zeros(cfg.d_model, dtype=hf["wte.weight"].dtype)
        sd[dst + "mlp.W_in"], sd[dst + "mlp.b_in"] = hf[src + "mlp.fc_in.weight"].T, hf[src + "mlp.fc_in.bias"]
        sd[dst + "mlp.W_out"], sd[dst + "mlp.b_out"] = hf[src + "mlp.fc_out.weight"].T, hf[src + "mlp.fc_out.bias"]
    sd["ln_final.w"], sd["ln_final.b"] = hf["ln_f.weight"], hf["ln_f.bias"]
    sd["unembed.W_U"], sd["unembed.b_U"] = hf["lm_head.weight"].T, hf["lm_head.bias"]
    return sd
