"""Qwen3: LLaMA-style with per-head q/k RMSNorm and optional per-layer sliding windows."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families import llama_like

HF_ARCHITECTURES = ("Qwen3ForCausalLM",)

OFFICIAL_NAMES: dict[str, tuple[str, ...]] = {}  # names are kept by the model-name registry


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    return {**llama_like.config_from_hf(hf_config, "qwen3"), **llama_like.sliding_window_config(hf_config), "use_qk_norm": True}


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    return llama_like.convert_state_dict(hf_tensors, cfg)
