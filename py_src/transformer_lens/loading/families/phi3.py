"""Phi-3 / Phi-4: LLaMA-style with fused ``qkv_proj`` and ``gate_up_proj``, optional partial rotary."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families import llama_like

HF_ARCHITECTURES = ("Phi3ForCausalLM",)

OFFICIAL_NAMES: dict[str, tuple[str, ...]] = {}  # names are kept by the model-name registry


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    return {**llama_like.config_from_hf(hf_config, "phi3"), **llama_like.sliding_window_config(hf_config)}


def split_fused(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    """Phi-3's fused projections as LLaMA's separate q/k/v and gate/up tensors."""
    n_kv = cfg.n_key_value_heads or cfg.n_heads
    sizes = [cfg.n_heads * cfg.d_head, n_kv * cfg.d_head, n_kv * cfg.d_head]
    out: dict[str, torch.Tensor] = {}
    for key, value in hf_tensors.items():
        if key.endswith("self_attn.qkv_proj.weight"):
            stem = key.removesuffix("qkv_proj.weight")
            for name, part in zip(("q_proj", "k_proj", "v_proj"), value.split(sizes, dim=0)):
                out[f"{stem}{name}.weight"] = part
        elif key.endswith("mlp.gate_up_proj.weight"):
            stem = key.removesuffix("gate_up_proj.weight")
            # Rows are [gate; up]: HF computes up * act(gate) from the two halves.
            out[stem + "gate_proj.weight"], out[stem + "up_proj.weight"] = value.chunk(2, dim=0)
        else:
            out[key] = value
    return out


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    return llama_like.convert_state_dict(split_fused(hf_tensors, cfg), cfg)
