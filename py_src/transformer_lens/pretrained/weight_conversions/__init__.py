"""Upstream's ``transformer_lens.pretrained.weight_conversions``: one ``convert_<family>_weights`` per module.

Thin and lazy: each name loads its module on first use; the work is done by LensLab's family
converters (``transformer_lens.loading.families``), see ``_adapter``.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULE_OF = {
    "convert_apertus_weights": "apertus",
    "convert_bert_weights": "bert",
    "convert_bloom_weights": "bloom",
    "convert_coder_weights": "coder",
    "convert_gemma_weights": "gemma",
    "convert_gpt2_weights": "gpt2",
    "convert_gptj_weights": "gptj",
    "convert_hubert_weights": "hubert",
    "convert_llama_weights": "llama",
    "convert_mingpt_weights": "mingpt",
    "convert_mistral_weights": "mistral",
    "convert_mixtral_weights": "mixtral",
    "convert_nanogpt_weights": "nanogpt",
    "convert_neel_solu_old_weights": "neel_solu_old",
    "convert_neo_weights": "neo",
    "convert_neox_weights": "neox",
    "convert_olmo_weights": "olmo",
    "convert_olmo2_weights": "olmo2",
    "convert_olmo3_weights": "olmo3",
    "convert_olmoe_weights": "olmoe",
    "convert_gpt_oss_weights": "openai",
    "convert_opt_weights": "opt",
    "convert_phi_weights": "phi",
    "convert_phi3_weights": "phi3",
    "convert_qwen_weights": "qwen",
    "convert_qwen2_weights": "qwen2",
    "convert_qwen3_weights": "qwen3",
    "convert_t5_weights": "t5",
}  # fmt: skip

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    if name in _MODULE_OF:
        return getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
