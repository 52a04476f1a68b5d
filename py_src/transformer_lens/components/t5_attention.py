"""Upstream's ``transformer_lens.components.t5_attention`` module path (the class lives in ``components.t5``)."""

from transformer_lens.components.t5 import T5Attention

__all__ = ["T5Attention"]
