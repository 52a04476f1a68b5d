"""Gemma 3 (text): Gemma 2's block with per-head q/k RMSNorm and separate local/global RoPE bases.

The multimodal checkpoints (Gemma3ForConditionalGeneration) load their language model only;
the vision tower and projector are dropped.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families import gemma2, llama_like
from transformer_lens.loading.families._common import layered_rotary_config

HF_ARCHITECTURES = ("Gemma3ForCausalLM", "Gemma3ForConditionalGeneration")

OFFICIAL_NAMES: dict[str, tuple[str, ...]] = {}  # names are kept by the model-name registry

# Where each checkpoint layout keeps the language model (transformers 5 first, then 4.5x).
_LANGUAGE_MODEL_PREFIXES = (("model.language_model.", "model."), ("language_model.model.", "model."), ("language_model.lm_head.", "lm_head."))


def text_config(hf_config: Any) -> Any:
    return getattr(hf_config, "text_config", None) or hf_config


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    text = text_config(hf_config)
    cfg = llama_like.config_from_hf(text, "gemma3")
    d_head = cfg["d_head"]
    return {
        **cfg,
        **layered_rotary_config(text, d_head, "gemma3"),
        **gemma2.soft_caps_and_scale(text, "gemma3"),
        "use_qk_norm": True,
        "tie_word_embeddings": bool(getattr(hf_config, "tie_word_embeddings", True)),
    }


def language_model_tensors(hf_tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The text model's tensors under Gemma3ForCausalLM's names; vision tensors dropped."""
    out: dict[str, torch.Tensor] = {}
    multimodal = any(key.startswith(("model.language_model.", "language_model.")) for key in hf_tensors)
    for key, value in hf_tensors.items():
        if not multimodal:
            out[key] = value
            continue
        for old, new in _LANGUAGE_MODEL_PREFIXES:
            if key.startswith(old):
                out[new + key[len(old) :]] = value
                break
        else:
            if key.startswith("lm_head."):
                out[key] = value
    return out


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    return gemma2.convert_with_post_norms(language_model_tensors(hf_tensors), cfg)
