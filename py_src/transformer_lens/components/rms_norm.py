"""Upstream's ``transformer_lens.components.rms_norm`` module path (the class lives in ``components.norms``)."""

from transformer_lens.components.norms import RMSNorm

__all__ = ["RMSNorm"]
