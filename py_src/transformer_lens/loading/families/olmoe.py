"""OLMoE: LLaMA-style attention with RMSNorm over all heads' queries and keys, and 64-expert SwiGLU MoE."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families import _moe

HF_ARCHITECTURES = ("OlmoeForCausalLM",)

OFFICIAL_NAMES: dict[str, tuple[str, ...]] = {}

_EXPERTS = _moe.per_expert_modules("mlp.gate", "mlp.experts", "gate_proj", "up_proj", "down_proj")


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    if getattr(hf_config, "clip_qkv", None) is not None:
        raise ValueError("OLMoE clip_qkv is not supported (nearest supported family: OLMoE with clip_qkv=None)")
    return _moe.moe_config(
        hf_config, hf_config.num_experts, norm_topk_prob=bool(hf_config.norm_topk_prob), use_qk_norm=True, qk_norm_over_all_heads=True
    )


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    return _moe.convert_state_dict(hf_tensors, cfg, _EXPERTS)
