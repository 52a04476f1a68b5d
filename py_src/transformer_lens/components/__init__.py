"""Building blocks shared by every architecture."""

from transformer_lens.components.attention import Attention, GroupedQueryAttention
from transformer_lens.components.block import TransformerBlock
from transformer_lens.components.embed import Embed, PosEmbed, Unembed
from transformer_lens.components.mlp import MLP
from transformer_lens.components.norms import LayerNorm, LayerNormPre, RMSNorm, RMSNormPre

__all__ = [
    "Attention",
    "Embed",
    "GroupedQueryAttention",
    "LayerNorm",
    "LayerNormPre",
    "MLP",
    "PosEmbed",
    "RMSNorm",
    "RMSNormPre",
    "TransformerBlock",
    "Unembed",
]
