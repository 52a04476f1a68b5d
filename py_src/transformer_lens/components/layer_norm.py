"""Upstream's ``transformer_lens.components.layer_norm`` module path (the class lives in ``components.norms``)."""

from transformer_lens.components.norms import LayerNorm

__all__ = ["LayerNorm"]
