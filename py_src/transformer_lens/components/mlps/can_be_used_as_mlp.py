"""Upstream's path for ``CanBeUsedAsMLP``, the base of every MLP-like layer (defined in ``components.mlp``)."""

from transformer_lens.components.mlp import CanBeUsedAsMLP

__all__ = ["CanBeUsedAsMLP"]
