"""OLMo 2: norms on each sublayer's output only, and q/k RMSNorm over the whole projection.

As upstream, ``ln1``/``ln2`` hold the post-attention and post-MLP norms (there is no pre-norm);
unlike upstream, ``hook_attn_out``/``hook_mlp_out`` come after them (docs/hooks.md).
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families import llama_like

HF_ARCHITECTURES = ("Olmo2ForCausalLM",)

OFFICIAL_NAMES: dict[str, tuple[str, ...]] = {}  # names are kept by the model-name registry


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    return {**llama_like.config_from_hf(hf_config, "olmo2"), **post_norm_fields()}


def post_norm_fields() -> dict[str, Any]:
    return dict(normalization_after_only=True, use_qk_norm=True, qk_norm_over_all_heads=True)


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    sd = llama_like.convert_state_dict(hf_tensors, cfg, norm_weights=False)
    hf = {key.removeprefix("model."): value for key, value in hf_tensors.items()}
    for layer in range(cfg.n_layers):
        src, dst = f"layers.{layer}.", f"blocks.{layer}."
        sd[dst + "ln1.w"] = hf[src + "post_attention_layernorm.weight"]
        sd[dst + "ln2.w"] = hf[src + "post_feedforward_layernorm.weight"]
    sd["ln_final.w"] = hf["norm.weight"]
    return sd
