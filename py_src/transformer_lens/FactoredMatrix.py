"""Upstream's ``transformer_lens.FactoredMatrix`` module path (the class lives in ``factored_matrix``)."""

from transformer_lens.factored_matrix import FactoredMatrix

__all__ = ["FactoredMatrix"]
