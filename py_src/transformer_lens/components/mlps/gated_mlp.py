"""Upstream's path for the gated ``GatedMLP`` layer (defined in ``components.mlp``)."""

from transformer_lens.components.mlp import GatedMLP

__all__ = ["GatedMLP"]
