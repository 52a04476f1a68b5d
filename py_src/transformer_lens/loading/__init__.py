"""Loading checkpoints into hooked models.

As in upstream TransformerLens, ``transformer_lens.loading.OFFICIAL_MODEL_NAMES`` lists the
known names (the embedded ``lenslab/...`` models included), ``MODEL_ALIASES`` their aliases,
and ``get_official_model_name`` resolves an alias. They are looked up on first use, so importing
this package stays cheap.
"""

from __future__ import annotations

from typing import Any

_FROM_REGISTRY = (
    "OFFICIAL_MODEL_NAMES",
    "MODEL_ALIASES",
    "DEFAULT_MODEL_ALIASES",
    "official_model_names",
    "get_official_model_name",
    "get_checkpoint_labels",
)


def __getattr__(name: str) -> Any:
    if name in _FROM_REGISTRY:
        from transformer_lens.loading import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'transformer_lens.loading' has no attribute {name!r}")


__all__ = list(_FROM_REGISTRY)
