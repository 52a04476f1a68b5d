"""LLaMA (1, 2 and 3 with default RoPE): the LLaMA-style layout as it is."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families import llama_like

HF_ARCHITECTURES = ("LlamaForCausalLM",)


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    return llama_like.config_from_hf(hf_config)


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    return llama_like.convert_state_dict(hf_tensors, cfg)
