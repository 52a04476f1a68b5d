"""OLMo (1): LLaMA-style with LayerNorms that have no weights (``LNPre``, eps 1e-5) and, in
later checkpoints (0424, 1.7), q/k/v clamped to ``clip_qkv``."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families import llama_like

HF_ARCHITECTURES = ("OlmoForCausalLM",)

OFFICIAL_NAMES: dict[str, tuple[str, ...]] = {}  # names are kept by the model-name registry


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    # OlmoLayerNorm hard-codes eps=1e-5 and has no rms_norm_eps to read.
    cfg = llama_like.config_from_hf(_with_eps(hf_config), "olmo")
    return {**cfg, "normalization_type": "LNPre", "final_rms": False, "clip_qkv": getattr(hf_config, "clip_qkv", None)}


class _with_eps:
    """The HF config seen with the ``rms_norm_eps`` that llama_like reads."""

    def __init__(self, hf_config: Any) -> None:
        self._config = hf_config
        self.rms_norm_eps = 1e-5

    def __getattr__(self, name: str) -> Any:
        return getattr(self._config, name)


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    return llama_like.convert_state_dict(hf_tensors, cfg, norm_weights=False)
