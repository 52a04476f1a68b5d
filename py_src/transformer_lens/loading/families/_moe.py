"""Shared conversion of LLaMA-style mixture-of-experts checkpoints (Mixtral, OLMoE, gpt-oss).

Attention and norms follow the LLaMA layout; the families differ in where the router and the
experts live and how the experts are stored (one module each, or gpt-oss's stacked tensors).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families import llama_like
from transformer_lens.loading.families._common import bias_to_heads, linear_from_heads, linear_to_heads, strip_prefixes

# (state dict, layer prefix, cfg) -> our router and expert tensors under "mlp."
ExpertConverter = Callable[[Mapping[str, torch.Tensor], str, HookedTransformerConfig], dict[str, torch.Tensor]]


def moe_config(hf_config: Any, num_experts: int, **extra: Any) -> dict[str, Any]:
    """LLaMA-style sizes plus the expert counts; ``intermediate_size`` is one expert's width."""
    return {
        **llama_like.config_from_hf(hf_config),
        "num_experts": num_experts,
        "experts_per_token": hf_config.num_experts_per_tok,
        "gated_mlp": True,
        **extra,
    }


def per_expert_modules(router: str, experts: str, gate: str, up: str, down: str) -> ExpertConverter:
    """Experts stored one module each (``{experts}.{e}.{gate}.weight``), router ``{router}.weight``."""

    def convert(hf: Mapping[str, torch.Tensor], src: str, cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
        out = {"mlp.W_gate": hf[f"{src}{router}.weight"].T}
        for expert in range(cfg.num_experts or 0):
            stem = f"{src}{experts}.{expert}."
            out[f"mlp.experts.{expert}.W_gate"] = hf[stem + f"{gate}.weight"].T
            out[f"mlp.experts.{expert}.W_in"] = hf[stem + f"{up}.weight"].T
            out[f"mlp.experts.{expert}.W_out"] = hf[stem + f"{down}.weight"].T
        return out

    return convert


def convert_state_dict(
    hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig, experts: ExpertConverter
) -> dict[str, torch.Tensor]:
    hf = strip_prefixes(hf_tensors, "model.")
    embed = hf["embed_tokens.weight"]
    n_kv = cfg.n_key_value_heads or cfg.n_heads
    sd: dict[str, torch.Tensor] = {"embed.W_E": embed}
    for layer in range(cfg.n_layers):
        src, dst = f"layers.{layer}.", f"blocks.{layer}."
        sd[dst + "ln1.w"] = hf[src + "input_layernorm.weight"]
        sd[dst + "ln2.w"] = hf[src + "post_attention_layernorm.weight"]
        for w_name, b_name, proj, heads in (
            ("W_Q", "b_Q", "q_proj", cfg.n_heads),
            ("W_K", "b_K", "k_proj", n_kv),
            ("W_V", "b_V", "v_proj", n_kv),
        ):
            sd[dst + "attn." + w_name] = linear_to_heads(hf[src + f"self_attn.{proj}.weight"], heads)
            sd[dst + "attn." + b_name] = bias_to_heads(hf.get(src + f"self_attn.{proj}.bias"), heads, cfg.d_head, embed)
        sd[dst + "attn.W_O"] = linear_from_heads(hf[src + "self_attn.o_proj.weight"], cfg.n_heads)
        sd[dst + "attn.b_O"] = hf.get(src + "self_attn.o_proj.bias", torch.zeros(cfg.d_model, dtype=embed.dtype))
        if cfg.use_qk_norm:
            sd[dst + "attn.q_norm.w"] = hf[src + "self_attn.q_norm.weight"]
            sd[dst + "attn.k_norm.w"] = hf[src + "self_attn.k_norm.weight"]
        if cfg.use_attention_sinks:
            sd[dst + "attn.sinks"] = hf[src + "self_attn.sinks"]
        sd.update({dst + key: value for key, value in experts(hf, src, cfg).items()})
    sd["ln_final.w"] = hf["norm.weight"]
    sd["unembed.W_U"] = hf.get("lm_head.weight", embed).T
    sd["unembed.b_U"] = torch.zeros(cfg.d_vocab_out, dtype=embed.dtype)
    return sd
