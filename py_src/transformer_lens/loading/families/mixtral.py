"""Mixtral: Mistral-style attention with a sparse mixture of SwiGLU experts (top-k of a softmax, renormalised)."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families import _moe, llama_like

HF_ARCHITECTURES = ("MixtralForCausalLM",)

# Names and aliases are the name registry's job; this module maps the architecture.
OFFICIAL_NAMES: dict[str, tuple[str, ...]] = {}

_EXPERTS = _moe.per_expert_modules("block_sparse_moe.gate", "block_sparse_moe.experts", "w1", "w3", "w2")


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    if getattr(hf_config, "router_jitter_noise", 0.0):
        raise ValueError("Mixtral router_jitter_noise is a training-time option and is not supported; set it to 0")
    return {
        **_moe.moe_config(hf_config, hf_config.num_local_experts, norm_topk_prob=True),
        **llama_like.sliding_window_config(hf_config),
    }


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    return _moe.convert_state_dict(hf_tensors, cfg, _EXPERTS)
