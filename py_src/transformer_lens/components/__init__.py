"""Building blocks shared by every architecture, under upstream TransformerLens's class names.

Upstream's per-class module paths (``components.layer_norm``, ``components.mlps.gated_mlp``, ...) are
thin modules next to ours that give the same classes.
"""

from __future__ import annotations

from typing import Any

from transformer_lens._added_elsewhere import look_up
from transformer_lens._not_provided import not_provided
from transformer_lens.components.attention import AbstractAttention, Attention, GroupedQueryAttention
from transformer_lens.components.bert import BertBlock, BertEmbed, BertMLMHead, TokenTypeEmbed
from transformer_lens.components.block import TransformerBlock
from transformer_lens.components.embed import Embed, PosEmbed, Unembed
from transformer_lens.components.mlp import MLP, CanBeUsedAsMLP, GatedMLP
from transformer_lens.components.norms import LayerNorm, LayerNormPre, RMSNorm, RMSNormPre

# Upstream components that other parts of LensLab may add: looked up where they would live, and a
# NotImplementedError naming them while they are absent.
_ADDED_ELSEWHERE = {
    "MoE": ("transformer_lens.components.mlps.moe", "mixture-of-experts MLP layers are not available in this build"),
    "BertNSPHead": ("transformer_lens.components.bert", "BERT's next-sentence-prediction head is not implemented"),
    "BertPooler": ("transformer_lens.components.bert", "BERT's pooler is not implemented"),
    "T5Attention": ("transformer_lens.components.t5", "encoder-decoder (T5) models are not in this build"),
    "T5Block": ("transformer_lens.components.t5", "encoder-decoder (T5) models are not in this build"),
}
_NOT_PROVIDED = {
    "GatedMLP4Bit": "4-bit (bitsandbytes) weights are not supported; load in float16/bfloat16/float32",
    "GptOssMoE": "GPT-OSS models are not supported",
}

__all__ = [
    "AbstractAttention",
    "Attention",
    "BertBlock",
    "BertEmbed",
    "BertMLMHead",
    "CanBeUsedAsMLP",
    "Embed",
    "GatedMLP",
    "GroupedQueryAttention",
    "LayerNorm",
    "LayerNormPre",
    "MLP",
    "PosEmbed",
    "RMSNorm",
    "RMSNormPre",
    "TokenTypeEmbed",
    "TransformerBlock",
    "Unembed",
]


def __getattr__(name: str) -> Any:
    if name in _ADDED_ELSEWHERE:
        module_name, reason = _ADDED_ELSEWHERE[name]
        return look_up(f"transformer_lens.components.{name}", module_name, name, reason)
    if name in _NOT_PROVIDED:
        raise not_provided(f"transformer_lens.components.{name}", _NOT_PROVIDED[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
