"""Shared layout of LLaMA-style checkpoints (LLaMA, Mistral, Qwen2, Gemma).

RMSNorm, rotary on the whole head, grouped-query attention and a gated MLP; the family
modules only state how they differ (biases, sliding windows, Gemma's offsets).
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families._common import bias_to_heads, linear_from_heads, linear_to_heads, rotary_config, strip_prefixes


def config_from_hf(hf_config: Any, family: str = "llama") -> dict[str, Any]:
    """``family`` names the nearest supported family in errors about unsupported options."""
    n_heads = hf_config.num_attention_heads
    d_head = getattr(hf_config, "head_dim", None) or hf_config.hidden_size // n_heads
    n_kv = getattr(hf_config, "num_key_value_heads", None) or n_heads
    return dict(
        d_model=hf_config.hidden_size,
        d_head=d_head,
        n_heads=n_heads,
        n_key_value_heads=n_kv if n_kv != n_heads else None,
        d_mlp=hf_config.intermediate_size,
        n_layers=hf_config.num_hidden_layers,
        n_ctx=hf_config.max_position_embeddings,
        eps=hf_config.rms_norm_eps,
        d_vocab=hf_config.vocab_size,
        act_fn=getattr(hf_config, "hidden_activation", None) or hf_config.hidden_act,
        normalization_type="RMS",
        final_rms=True,
        gated_mlp=True,
        **rotary_config(hf_config, d_head, family),
    )


def sliding_window_config(hf_config: Any) -> dict[str, Any]:
    """Per-layer local attention for checkpoints that use a sliding window."""
    window = getattr(hf_config, "sliding_window", None)
    layer_types = getattr(hf_config, "layer_types", None)
    if window is None:
        return {}
    if layer_types is not None:
        attn_types = ["local" if kind == "sliding_attention" else "global" for kind in layer_types]
    elif getattr(hf_config, "use_sliding_window", True):
        attn_types = ["local"] * hf_config.num_hidden_layers
    else:
        return {}
    if "local" not in attn_types:
        return {}
    return dict(use_local_attn=True, window_size=window, attn_types=attn_types)


def _plus(weight: torch.Tensor, offset: float) -> torch.Tensor:
    """``weight + offset``; a meta stand-in (another layer's, while streaming) is its own result:
    a meta add with a Python number runs torch's Python reference code, about 1 ms a call and
    seconds on first use, for an output that is only looked at for its shape and dtype."""
    return weight if weight.is_meta else weight + offset


def convert_state_dict(
    hf_tensors: Mapping[str, torch.Tensor],
    cfg: HookedTransformerConfig,
    norm_offset: float = 0.0,
    norm_weights: bool = True,
) -> dict[str, torch.Tensor]:
    """``norm_offset`` is added to RMSNorm weights (Gemma stores ``w - 1``); ``norm_weights=False``
    for checkpoints whose norms have no weights (OLMo) or sit elsewhere (the caller fills them in).
    q/k norms (``self_attn.q_norm``/``k_norm``) are read when ``cfg.use_qk_norm``."""
    hf = strip_prefixes(hf_tensors, "model.")
    embed = hf["embed_tokens.weight"]
    n_kv = cfg.n_key_value_heads or cfg.n_heads
    sd: dict[str, torch.Tensor] = {"embed.W_E": embed}
    for layer in range(cfg.n_layers):
        src, dst = f"layers.{layer}.", f"blocks.{layer}."
        if norm_weights:
            sd[dst + "ln1.w"] = _plus(hf[src + "input_layernorm.weight"], norm_offset)
            sd[dst + "ln2.w"] = _plus(hf[src + "post_attention_layernorm.weight"], norm_offset)
        for w_name, b_name, proj, heads in (
            ("W_Q", "b_Q", "q_proj", cfg.n_heads),
            ("W_K", "b_K", "k_proj", n_kv),
            ("W_V", "b_V", "v_proj", n_kv),
        ):
            sd[dst + "attn." + w_name] = linear_to_heads(hf[src + f"self_attn.{proj}.weight"], heads)
            sd[dst + "attn." + b_name] = bias_to_heads(hf.get(src + f"self_attn.{proj}.bias"), heads, cfg.d_head, embed)
        if cfg.use_qk_norm:
            sd[dst + "attn.q_norm.w"] = _plus(hf[src + "self_attn.q_norm.weight"], norm_offset)
            sd[dst + "attn.k_norm.w"] = _plus(hf[src + "self_attn.k_norm.weight"], norm_offset)
        sd[dst + "attn.W_O"] = linear_from_heads(hf[src + "self_attn.o_proj.weight"], cfg.n_heads)
        sd[dst + "attn.b_O"] = hf.get(src + "self_attn.o_proj.bias", torch.zeros(cfg.d_model, dtype=embed.dtype))
        if cfg.gated_mlp:
            sd[dst + "mlp.W_gate"] = hf[src + "mlp.gate_proj.weight"].T
        sd[dst + "mlp.W_in"] = hf[src + "mlp.up_proj.weight"].T
        sd[dst + "mlp.b_in"] = hf.get(src + "mlp.up_proj.bias", torch.zeros(cfg.d_mlp, dtype=embed.dtype))
        sd[dst + "mlp.W_out"] = hf[src + "mlp.down_proj.weight"].T
        sd[dst + "mlp.b_out"] = hf.get(src + "mlp.down_proj.bias", torch.zeros(cfg.d_model, dtype=embed.dtype))
    if norm_weights:
        sd["ln_final.w"] = _plus(hf["norm.weight"], norm_offset)
    sd["unembed.W_U"] = hf.get("lm_head.weight", embed).T
    sd["unembed.b_U"] = torch.zeros(cfg.d_vocab_out, dtype=embed.dtype)
    return sd
