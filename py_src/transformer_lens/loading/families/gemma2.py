"""Gemma 2: Gemma with post-norms, attention and final-logit soft-capping, alternating local attention.

``query_pre_attn_scalar`` sets the attention scale; RMSNorm weights are stored as ``w - 1``.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families import llama_like

HF_ARCHITECTURES = ("Gemma2ForCausalLM",)

OFFICIAL_NAMES: dict[str, tuple[str, ...]] = {}  # names are kept by the model-name registry


def soft_caps_and_scale(hf_config: Any, family: str) -> dict[str, Any]:
    """Fields Gemma 2 and 3 share: scaled embeddings, attention scale, soft caps, post-norms."""
    if getattr(hf_config, "use_bidirectional_attention", None):
        raise ValueError(f"{family}: use_bidirectional_attention=True is not supported; nearest supported family: {family} (causal)")
    return dict(
        embedding_multiplier=hf_config.hidden_size**0.5,
        attn_scale=float(hf_config.query_pre_attn_scalar) ** 0.5,
        attn_scores_soft_cap=float(hf_config.attn_logit_softcapping or -1.0),
        output_logits_soft_cap=float(hf_config.final_logit_softcapping or -1.0),
        use_normalization_before_and_after=True,
        **llama_like.sliding_window_config(hf_config),
    )


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    return {**llama_like.config_from_hf(hf_config, "gemma2"), **soft_caps_and_scale(hf_config, "gemma2")}


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    return convert_with_post_norms(hf_tensors, cfg)


def convert_with_post_norms(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    """LLaMA-style tensors plus Gemma 2/3's four norms per block (all stored as ``w - 1``)."""
    sd = llama_like.convert_state_dict(hf_tensors, cfg, norm_offset=1.0, norm_weights=False)
    hf = {key.removeprefix("model."): value for key, value in hf_tensors.items()}
    for layer in range(cfg.n_layers):
        src, dst = f"layers.{layer}.", f"blocks.{layer}."
        sd[dst + "ln1.w"] = hf[src + "input_layernorm.weight"] + 1.0
        sd[dst + "ln1_post.w"] = hf[src + "post_attention_layernorm.weight"] + 1.0
        sd[dst + "ln2.w"] = hf[src + "pre_feedforward_layernorm.weight"] + 1.0
        sd[dst + "ln2_post.w"] = hf[src + "post_feedforward_layernorm.weight"] + 1.0
    sd["ln_final.w"] = hf["norm.weight"] + 1.0
    return sd
