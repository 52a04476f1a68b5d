"""Upstream's ``components.mlps.gated_mlp_4bit`` path. LensLab has no bitsandbytes 4-bit layers."""

from __future__ import annotations

from typing import Any

from transformer_lens._not_provided import not_provided
from transformer_lens.components import _NOT_PROVIDED


class GatedMLP4Bit:
    """Importable, so code that only names it loads; building one says what to use instead."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise not_provided("transformer_lens.components.mlps.gated_mlp_4bit.GatedMLP4Bit", _NOT_PROVIDED["GatedMLP4Bit"])
