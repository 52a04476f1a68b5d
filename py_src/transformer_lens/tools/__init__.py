"""Upstream 3.x's ``transformer_lens.tools``: analyses built on hooks and caches (``tools.analysis``)."""

from __future__ import annotations

from typing import Any

from transformer_lens._not_provided import not_provided
from transformer_lens.tools import analysis

__all__ = ["analysis"]


def __getattr__(name: str) -> Any:
    if name == "model_registry":
        raise not_provided(
            "transformer_lens.tools.model_registry",
            "the hub model registry is not part of LensLab; supported names are transformer_lens.loading.OFFICIAL_MODEL_NAMES",
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
