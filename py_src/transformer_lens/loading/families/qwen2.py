"""Qwen2 / Qwen2.5: LLaMA-style with Q/K/V biases and optional per-layer sliding windows."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families import llama_like

HF_ARCHITECTURES = ("Qwen2ForCausalLM",)


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    return {
        **llama_like.config_from_hf(hf_config),
        **llama_like.sliding_window_config(hf_config),
        # Upstream's values: Qwen's tokenizer adds no BOS and the model was trained without one.
        "n_key_value_heads": hf_config.num_key_value_heads,
        "default_prepend_bos": False,
        "tokenizer_prepends_bos": True,
        "initializer_range": hf_config.initializer_range,
    }


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    return llama_like.convert_state_dict(hf_tensors, cfg)
