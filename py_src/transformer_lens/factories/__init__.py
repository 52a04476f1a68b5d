"""Upstream's ``transformer_lens.factories``: picking an activation function or an MLP layer from a config."""

from transformer_lens.factories.activation_function_factory import ActivationFunctionFactory
from transformer_lens.factories.mlp_factory import MLPFactory

__all__ = ["ActivationFunctionFactory", "MLPFactory"]
