"""The MLP layer a config asks for (``components.mlp.make_mlp``)."""

from __future__ import annotations

from typing import Union

from transformer_lens.components.mlp import CanBeUsedAsMLP, make_mlp
from transformer_lens.config import HookedTransformerConfig


class MLPFactory:
    @staticmethod
    def create_mlp(cfg: Union[HookedTransformerConfig, dict]) -> CanBeUsedAsMLP:
        """The layer every ``TransformerBlock`` builds for this config (plain, gated, ...)."""
        return make_mlp(HookedTransformerConfig.unwrap(cfg))
