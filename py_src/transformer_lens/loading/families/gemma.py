"""Gemma: LLaMA-style with GeGLU, embeddings scaled by sqrt(d_model) and RMSNorm weights stored as w - 1."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families import llama_like

HF_ARCHITECTURES = ("GemmaForCausalLM",)


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    return {
        **llama_like.config_from_hf(hf_config),
        "embedding_multiplier": hf_config.hidden_size**0.5,
        # Upstream's values for these fields.
        "n_key_value_heads": hf_config.num_key_value_heads,
        "initializer_range": hf_config.initializer_range,
    }


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    return llama_like.convert_state_dict(hf_tensors, cfg, norm_offset=1.0)
