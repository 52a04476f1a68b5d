"""LLaMA (1, 2 and 3 with default RoPE): the LLaMA-style layout as it is."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families import llama_like

HF_ARCHITECTURES = ("LlamaForCausalLM",)

OFFICIAL_NAMES: dict[str, tuple[str, ...]] = {
    "meta-llama/Llama-2-7b-hf": ("Llama-2-7b", "llama-2-7b"),
    "meta-llama/Llama-2-7b-chat-hf": ("Llama-2-7b-chat", "llama-2-7b-chat"),
    "meta-llama/Llama-2-13b-hf": ("Llama-2-13b", "llama-2-13b"),
    "meta-llama/Llama-2-70b-hf": ("Llama-2-70b", "llama-2-70b"),
    "meta-llama/Meta-Llama-3-8B": ("Meta-Llama-3-8B", "llama-3-8b"),
    "TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T": ("tiny-llama", "TinyLlama-1.1B"),
}


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    return llama_like.config_from_hf(hf_config)


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    return llama_like.convert_state_dict(hf_tensors, cfg)
