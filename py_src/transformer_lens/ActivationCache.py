"""Upstream's ``transformer_lens.ActivationCache`` module path (the class lives in ``activation_cache``)."""

from transformer_lens.activation_cache import ActivationCache

__all__ = ["ActivationCache"]
