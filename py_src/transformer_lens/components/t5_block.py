"""Upstream's ``transformer_lens.components.t5_block`` module path (the class lives in ``components.t5``)."""

from transformer_lens.components.t5 import T5Block

__all__ = ["T5Block"]
