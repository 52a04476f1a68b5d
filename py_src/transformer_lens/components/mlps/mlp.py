"""Upstream's path for the plain ``MLP`` layer (defined in ``components.mlp``)."""

from transformer_lens.components.mlp import MLP

__all__ = ["MLP"]
