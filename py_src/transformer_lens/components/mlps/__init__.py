"""Upstream's ``transformer_lens.components.mlps`` package: the MLP layers under their upstream paths."""

from transformer_lens.components.mlp import MLP, CanBeUsedAsMLP, GatedMLP

__all__ = ["CanBeUsedAsMLP", "GatedMLP", "MLP"]
