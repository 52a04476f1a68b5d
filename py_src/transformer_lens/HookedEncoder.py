"""Upstream's ``transformer_lens.HookedEncoder`` module path (the class lives in ``hooked_encoder``)."""

from transformer_lens.hooked_encoder import HookedEncoder

__all__ = ["HookedEncoder"]
