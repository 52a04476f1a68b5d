"""StableLM: LLaMA-style attention and gated MLP with LayerNorms, partial rotary, optional q/k/v
biases and an optional parallel residual (both branches then read ``input_layernorm``)."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families import llama_like

HF_ARCHITECTURES = ("StableLmForCausalLM",)

OFFICIAL_NAMES: dict[str, tuple[str, ...]] = {}  # names are kept by the model-name registry


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    if getattr(hf_config, "qk_layernorm", False):
        raise ValueError("StableLM qk_layernorm (one LayerNorm per head) is not supported; nearest supported family: stablelm with qk_layernorm=False")
    cfg = llama_like.config_from_hf(_LayerNormEps(hf_config), "stablelm")
    return {**cfg, "normalization_type": "LN", "final_rms": False, "parallel_attn_mlp": bool(hf_config.use_parallel_residual)}


class _LayerNormEps:
    """The HF config seen with the ``rms_norm_eps`` that llama_like reads (StableLM: layer_norm_eps)."""

    def __init__(self, hf_config: Any) -> None:
        self._config = hf_config
        self.rms_norm_eps = hf_config.layer_norm_eps

    def __getattr__(self, name: str) -> Any:
        return getattr(self._config, name)


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    sd = llama_like.convert_state_dict(hf_tensors, cfg, norm_weights=False)
    hf = {key.removeprefix("model."): value for key, value in hf_tensors.items()}
    for layer in range(cfg.n_layers):
        src, dst = f"layers.{layer}.", f"blocks.{layer}."
        # Parallel residual: one LayerNorm feeds both branches; TransformerLens keeps a copy for each.
        mlp_norm = "input_layernorm" if cfg.parallel_attn_mlp else "post_attention_layernorm"
        for ln, theirs in (("ln1", "input_layernorm"), ("ln2", mlp_norm)):
            sd[f"{dst}{ln}.w"], sd[f"{dst}{ln}.b"] = hf[f"{src}{theirs}.weight"], hf[f"{src}{theirs}.bias"]
    sd["ln_final.w"], sd["ln_final.b"] = hf["norm.weight"], hf["norm.bias"]
    return sd
