"""Apertus: LLaMA-style attention with per-head q/k RMSNorm, and a non-gated MLP with the
learned xIELU activation (``mlp.act_fn.alpha_p``/``alpha_n``/``beta``, upstream's names)."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families import llama_like

HF_ARCHITECTURES = ("ApertusForCausalLM",)

OFFICIAL_NAMES: dict[str, tuple[str, ...]] = {}  # names are kept by the model-name registry


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    cfg = llama_like.config_from_hf(hf_config, "apertus")
    return {**cfg, "gated_mlp": False, "use_qk_norm": True}


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    sd = llama_like.convert_state_dict(hf_tensors, cfg, norm_weights=False)
    hf = {key.removeprefix("model."): value for key, value in hf_tensors.items()}
    for layer in range(cfg.n_layers):
        src, dst = f"layers.{layer}.", f"blocks.{layer}."
        sd[dst + "ln1.w"] = hf[src + "attention_layernorm.weight"]
        sd[dst + "ln2.w"] = hf[src + "feedforward_layernorm.weight"]
        if cfg.act_fn == "xielu":
            for name in ("alpha_p", "alpha_n", "beta"):
                sd[f"{dst}mlp.act_fn.{name}"] = hf[f"{src}mlp.act_fn.{name}"]
    sd["ln_final.w"] = hf["norm.weight"]
    return sd
