"""Upstream's ``transformer_lens.SVDInterpreter`` module path (the class lives in ``svd_interpreter``)."""

from transformer_lens.svd_interpreter import OUTPUT_EMBEDDING, VECTOR_TYPES, SVDInterpreter

__all__ = ["OUTPUT_EMBEDDING", "SVDInterpreter", "VECTOR_TYPES"]
