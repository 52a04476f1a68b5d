"""Building blocks shared by every architecture, under upstream TransformerLens's class names.

Upstream's per-class module paths (``components.layer_norm``, ``components.mlps.gated_mlp``, ...) are
thin modules next to ours that give the same classes.
"""

from __future__ import annotations

from typing import Any

from transformer_lens._not_provided import not_provided
from transformer_lens.components.attention import AbstractAttention, Attention, GroupedQueryAttention
from transformer_lens.components.bert import BertBlock, BertEmbed, BertMLMHead, BertNSPHead, BertPooler, TokenTypeEmbed
from transformer_lens.components.block import TransformerBlock
from transformer_lens.components.embed import Embed, PosEmbed, Unembed
from transformer_lens.components.mlp import MLP, CanBeUsedAsMLP, GatedMLP
from transformer_lens.components.mlps.moe import MoE
from transformer_lens.components.norms import LayerNorm, LayerNormPre, RMSNorm, RMSNormPre
from transformer_lens.components.t5 import T5Attention, T5Block

_NOT_PROVIDED = {
    "GatedMLP4Bit": "4-bit (bitsandbytes) weights are not supported; load in float16/bfloat16/float32",
}

__all__ = [
    "AbstractAttention",
    "Attention",
    "BertBlock",
    "BertEmbed",
    "BertMLMHead",
    "BertNSPHead",
    "BertPooler",
    "CanBeUsedAsMLP",
    "Embed",
    "GatedMLP",
    "GroupedQueryAttention",
    "LayerNorm",
    "LayerNormPre",
    "MLP",
    "MoE",
    "PosEmbed",
    "RMSNorm",
    "RMSNormPre",
    "T5Attention",
    "T5Block",
    "TokenTypeEmbed",
    "TransformerBlock",
    "Unembed",
]


def __getattr__(name: str) -> Any:
    if name == "GptOssMoE":  # upstream's nn.Linear layout of gpt-oss's MoE, loaded on first use
        from transformer_lens.components.mlps.gpt_oss_moe import GptOssMoE

        return GptOssMoE
    if name in _NOT_PROVIDED:
        raise not_provided(f"transformer_lens.components.{name}", _NOT_PROVIDED[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
