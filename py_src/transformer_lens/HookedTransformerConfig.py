"""Upstream 2.x's ``transformer_lens.HookedTransformerConfig`` module path (the class lives in ``config``)."""

from transformer_lens.config import HookedTransformerConfig

__all__ = ["HookedTransformerConfig"]
