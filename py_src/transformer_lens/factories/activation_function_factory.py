"""The activation function a config names, from the table our MLPs use."""

from __future__ import annotations

from typing import Union

from transformer_lens.components.mlp import ACTIVATIONS
from transformer_lens.components.xielu import XIELU
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.utilities.activation_functions import ActivationFunction


class ActivationFunctionFactory:
    @staticmethod
    def pick_activation_function(cfg: Union[HookedTransformerConfig, dict]) -> ActivationFunction:
        """``cfg.act_fn`` as a function (a fresh ``XIELU`` module for "xielu"); ValueError when unset or unknown."""
        act_fn = cfg["act_fn"] if isinstance(cfg, dict) else cfg.act_fn
        if act_fn is None:
            raise ValueError("act_fn is not set in the config")
        if act_fn == "xielu":  # trainable: each MLP needs its own parameters
            return XIELU()
        if act_fn not in ACTIVATIONS:
            raise ValueError(f"Invalid activation function name: {act_fn!r}; supported: {', '.join(sorted(ACTIVATIONS))}")
        return ACTIVATIONS[act_fn]
