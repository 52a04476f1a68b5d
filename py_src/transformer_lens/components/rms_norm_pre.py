"""Upstream's ``transformer_lens.components.rms_norm_pre`` module path (the class lives in ``components.norms``)."""

from transformer_lens.components.norms import RMSNormPre

__all__ = ["RMSNormPre"]
