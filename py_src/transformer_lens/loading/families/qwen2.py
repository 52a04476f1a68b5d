"""Qwen2 / Qwen2.5: LLaMA-style with Q/K/V biases and optional per-layer sliding windows."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families import llama_like

HF_ARCHITECTURES = ("Qwen2ForCausalLM",)



def config_from_hf(hf_config: Any) -> dict[str, Any]:
    return {**llama_like.config_from_hf(hf_config), **llama_like.sliding_window_config(hf_config)}


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    return llama_like.convert_state_dict(hf_tensors, cfg)
