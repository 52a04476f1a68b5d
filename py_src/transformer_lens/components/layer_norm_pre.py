"""Upstream's ``transformer_lens.components.layer_norm_pre`` module path (the class lives in ``components.norms``)."""

from transformer_lens.components.norms import LayerNormPre

__all__ = ["LayerNormPre"]
