"""Layout helpers shared by family converters (HF nn.Linear weights are ``[out, in]``)."""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional

import einops
import torch


def strip_prefixes(tensors: Mapping[str, torch.Tensor], *prefixes: str) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in tensors.items():
        for prefix in prefixes:
            if key.startswith(prefix):
                key = key[len(prefix) :]
                break
        out[key] = value
    return out


def linear_to_heads(weight: torch.Tensor, n_heads: int) -> torch.Tensor:
    """``[n_heads * d_head, d_model]`` -> ``[n_heads, d_model, d_head]``."""
    return einops.rearrange(weight, "(head d_head) d_model -> head d_model d_head", head=n_heads)


def bias_to_heads(bias: Optional[torch.Tensor], n_heads: int, d_head: int, like: torch.Tensor) -> torch.Tensor:
    if bias is None:
        return torch.zeros(n_heads, d_head, dtype=like.dtype)
    return einops.rearrange(bias, "(head d_head) -> head d_head", head=n_heads)


def linear_from_heads(weight: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Output projection ``[d_model, n_heads * d_head]`` -> ``[n_heads, d_head, d_model]``."""
    return einops.rearrange(weight, "d_model (head d_head) -> head d_head d_model", head=n_heads)


def zeros_like_out(bias: Optional[torch.Tensor], size: int, like: torch.Tensor) -> torch.Tensor:
    return bias if bias is not None else torch.zeros(size, dtype=like.dtype)


SUPPORTED_ROPE_TYPES = ("default", "linear", "dynamic", "llama3", "yarn", "longrope")


def _rope_parameters(hf_config: Any, layer_type: Optional[str] = None) -> dict[str, Any]:
    """One RoPE parameter dict from v5 ``rope_parameters`` (flat or per layer type) or older fields."""
    params = dict(getattr(hf_config, "rope_parameters", None) or {})
    if layer_type is not None and isinstance(params.get(layer_type), dict):
        params = dict(params[layer_type])
    elif any(isinstance(value, dict) for value in params.values()):
        params = dict(params.get("full_attention") or {})
    scaling = getattr(hf_config, "rope_scaling", None) or {}
    for key, value in scaling.items():
        params.setdefault(key, value)
    return params


def rope_settings(hf_config: Any, family: str = "llama", layer_type: Optional[str] = None) -> dict[str, Any]:
    """Rotary base, partial fraction and HF's RoPE scaling as TransformerLens config fields.

    ``family`` names the nearest supported family in the error for a RoPE type we lack.
    """
    params = _rope_parameters(hf_config, layer_type)
    rope_type = params.get("rope_type", params.get("type", "default")) or "default"
    if rope_type not in SUPPORTED_ROPE_TYPES:
        raise ValueError(
            f"RoPE scaling type {rope_type!r} is not supported (supported: {', '.join(SUPPORTED_ROPE_TYPES)}); "
            f"nearest supported family: {family} with rope_type 'default'"
        )
    theta = params.get("rope_theta", getattr(hf_config, "rope_theta", None) or getattr(hf_config, "rotary_emb_base", None) or 10000.0)
    fraction = params.get("partial_rotary_factor", getattr(hf_config, "partial_rotary_factor", None) or getattr(hf_config, "rotary_pct", None) or 1.0)
    out: dict[str, Any] = {"rotary_base": float(theta), "partial_rotary_factor": float(fraction)}
    max_positions = getattr(hf_config, "max_position_embeddings", None)
    original = params.get("original_max_position_embeddings") or max_positions
    if rope_type == "linear":
        out["rotary_scaling_factor"] = float(params["factor"])
    elif rope_type == "dynamic":
        out["rotary_dynamic_ntk_factor"] = float(params["factor"])
    elif rope_type == "llama3":
        out.update(
            use_NTK_by_parts_rope=True,
            NTK_by_parts_factor=float(params["factor"]),
            NTK_by_parts_low_freq_factor=float(params["low_freq_factor"]),
            NTK_by_parts_high_freq_factor=float(params["high_freq_factor"]),
            NTK_original_ctx_len=int(original),
        )
    elif rope_type == "yarn":
        factor = params.get("factor") or max_positions / original
        attention_factor = params.get("attention_factor")
        if attention_factor is None:
            mscale, mscale_all_dim = params.get("mscale"), params.get("mscale_all_dim")
            if mscale and mscale_all_dim:
                attention_factor = _yarn_mscale(factor, mscale) / _yarn_mscale(factor, mscale_all_dim)
            else:
                attention_factor = _yarn_mscale(factor)
        out.update(
            use_yarn_rope=True,
            yarn_factor=float(factor),
            yarn_attention_factor=float(attention_factor),
            yarn_beta_fast=float(params.get("beta_fast") or 32.0),
            yarn_beta_slow=float(params.get("beta_slow") or 1.0),
            yarn_original_max_position_embeddings=int(original),
            yarn_truncate=bool(params.get("truncate", True)),
        )
    elif rope_type == "longrope":
        original = params.get("original_max_position_embeddings") or getattr(hf_config, "original_max_position_embeddings", None) or max_positions
        factor = params.get("factor") or max_positions / original
        attention_factor = params.get("attention_factor")
        if attention_factor is None:
            attention_factor = 1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(original))
        out.update(
            rotary_longrope_short_factor=[float(f) for f in params["short_factor"]],
            rotary_longrope_long_factor=[float(f) for f in params["long_factor"]],
            rotary_longrope_original_ctx_len=int(original),
            rotary_attention_factor=float(attention_factor),
        )
    return out


def layered_rotary_config(hf_config: Any, d_head: int, family: str) -> dict[str, Any]:
    """Rotary fields for configs with one RoPE per layer type (Gemma 3, OLMo 3).

    Global layers take the "full_attention" parameters, scaling included; local layers take
    the "sliding_attention" base (``rotary_base_local``) and must be unscaled.
    """
    params = getattr(hf_config, "rope_parameters", None) or {}
    if not isinstance(params.get("sliding_attention"), dict):
        return rotary_config(hf_config, d_head, family)
    rope = rotary_config(hf_config, d_head, family)  # full_attention
    local = _rope_parameters(hf_config, "sliding_attention")
    local_type = local.get("rope_type", local.get("type", "default")) or "default"
    if local_type != "default":
        raise ValueError(
            f"RoPE scaling type {local_type!r} on sliding-window layers is not supported; "
            f"nearest supported family: {family} with unscaled local RoPE"
        )
    return {**rope, "rotary_base_local": float(local.get("rope_theta", rope["rotary_base"]))}


def _yarn_mscale(scale: float, mscale: float = 1.0) -> float:
    return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1.0


def rotary_config(hf_config: Any, d_head: int, family: str = "llama") -> dict[str, Any]:
    """``rope_settings`` with the rotary dimension resolved and the partial fraction dropped."""
    rope = rope_settings(hf_config, family)
    fraction = rope.pop("partial_rotary_factor")
    return {**rope, "positional_embedding_type": "rotary", "rotary_dim": int(d_head * fraction)}


def gpt2_style_sizes(hf_config: Any) -> dict[str, Any]:
    """The sizes that GPT-2-style HF configs (``n_embd``, ``n_head``, ...) name alike: GPT-2, GPT-J."""
    return dict(
        d_model=hf_config.n_embd,
        d_head=hf_config.n_embd // hf_config.n_head,
        n_heads=hf_config.n_head,
        d_mlp=hf_config.n_inner or 4 * hf_config.n_embd,
        n_layers=hf_config.n_layer,
        n_ctx=hf_config.n_positions,
        eps=hf_config.layer_norm_epsilon,
        d_vocab=hf_config.vocab_size,
        act_fn=hf_config.activation_function,
        normalization_type="LN",
    )
