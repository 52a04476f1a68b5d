"""Upstream's ``transformer_lens.components.transformer_block`` module path (the class lives in ``components.block``)."""

from transformer_lens.components.block import TransformerBlock

__all__ = ["TransformerBlock"]
