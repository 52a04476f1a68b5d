"""Mistral: LLaMA-style with a sliding attention window."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families import llama_like

HF_ARCHITECTURES = ("MistralForCausalLM",)


# Upstream caps Mistral's context at 2048 positions (for memory); rotary models need no
# position table, so this only bounds the prompts it expects.
UPSTREAM_N_CTX = 2048


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    return {
        **llama_like.config_from_hf(hf_config),
        **llama_like.sliding_window_config(hf_config),
        # Upstream's values for these fields (final_rms only matters for LayerNorm models).
        "n_ctx": UPSTREAM_N_CTX,
        "final_rms": False,
        "n_key_value_heads": hf_config.num_key_value_heads,
    }


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    return llama_like.convert_state_dict(hf_tensors, cfg)
