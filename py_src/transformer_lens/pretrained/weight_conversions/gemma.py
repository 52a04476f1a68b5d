"""Upstream's ``convert_gemma_weights``: one function for Gemma 1, 2 and 3 (text-only or multimodal).

LensLab has one family per generation (``loading.families.gemma``/``gemma2``/``gemma3``); this picks
the one the checkpoint and config describe, as upstream's single converter does.
"""

from __future__ import annotations

from typing import Any

import torch

from transformer_lens.pretrained.weight_conversions._adapter import _as_config, _hf_tensors, upstream_kv_names


def convert_gemma_weights(hf_model: Any, cfg: Any) -> "dict[str, torch.Tensor]":
    """The weights of a Hugging Face Gemma model in TransformerLens names.

    As upstream's, ``embed.W_E`` comes scaled by ``sqrt(d_model)`` when the config does not scale
    embeddings itself (LensLab's Gemma configs set ``embedding_multiplier`` and keep W_E as stored).
    """
    from transformer_lens.loading.families import gemma, gemma3

    config = _as_config(cfg)
    tensors = _hf_tensors(hf_model)
    multimodal = any(key.startswith(("language_model.", "model.language_model.")) for key in tensors)
    if multimodal or config.use_normalization_before_and_after:
        sd = gemma3.convert_state_dict(tensors, config)  # post norms; reads a multimodal model's language model
    else:
        sd = gemma.convert_state_dict(tensors, config)
    if config.embedding_multiplier == 1.0:
        sd["embed.W_E"] = sd["embed.W_E"] * torch.tensor(config.d_model**0.5, dtype=sd["embed.W_E"].dtype)
    return upstream_kv_names(sd, config, whenever_set=True)
