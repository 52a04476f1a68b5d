"""Layout helpers shared by family converters (HF nn.Linear weights are ``[out, in]``)."""

from __future__ import annotations

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


def rope_settings(hf_config: Any) -> dict[str, Any]:
    """Rotary base and partial fraction from either the v5 ``rope_parameters`` or older fields."""
    params = getattr(hf_config, "rope_parameters", None) or {}
    scaling = getattr(hf_config, "rope_scaling", None) or {}
    rope_type = params.get("rope_type", scaling.get("rope_type", scaling.get("type", "default")))
    if rope_type not in (None, "default"):
        raise ValueError(f"RoPE scaling type {rope_type!r} is not supported yet")
    theta = params.get("rope_theta", getattr(hf_config, "rope_theta", None) or getattr(hf_config, "rotary_emb_base", None) or 10000.0)
    fraction = params.get("partial_rotary_factor", getattr(hf_config, "partial_rotary_factor", None) or getattr(hf_config, "rotary_pct", None) or 1.0)
    return {"rotary_base": float(theta), "partial_rotary_factor": float(fraction)}


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
