"""OLMo 3: OLMo 2's block with sliding-window layers and one RoPE per layer type."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families import llama_like, olmo2
from transformer_lens.loading.families._common import layered_rotary_config

HF_ARCHITECTURES = ("Olmo3ForCausalLM",)

OFFICIAL_NAMES: dict[str, tuple[str, ...]] = {}  # names are kept by the model-name registry


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    cfg = llama_like.config_from_hf(hf_config, "olmo3")
    return {
        **cfg,
        **layered_rotary_config(hf_config, cfg["d_head"], "olmo3"),
        **llama_like.sliding_window_config(hf_config),
        **olmo2.post_norm_fields(),
    }


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    return olmo2.convert_state_dict(hf_tensors, cfg)
