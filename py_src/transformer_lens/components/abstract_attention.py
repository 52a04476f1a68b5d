"""Upstream's ``transformer_lens.components.abstract_attention`` module path (the class lives in ``components.attention``)."""

from transformer_lens.components.attention import AbstractAttention

__all__ = ["AbstractAttention"]
