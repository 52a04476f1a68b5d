"""LensLab's core: hooked transformer models with the TransformerLens 3.x API.

Heavy or optional modules (``patching``, ``utils``, ``HookedEncoder``) load on first use,
so ``import transformer_lens`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

# Upstream's class-named modules (``transformer_lens.HookedTransformer`` the module) are imported
# first, then the names are bound to the classes, as upstream's package does: ``from transformer_lens
# import HookedTransformer`` gives the class, ``from transformer_lens.HookedTransformer import ...`` the module.
import transformer_lens.ActivationCache
import transformer_lens.HookedTransformer
from transformer_lens.activation_cache import ActivationCache
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.factored_matrix import FactoredMatrix
from transformer_lens.hook_points import HookedRootModule, HookPoint
from transformer_lens.hooked_transformer import HookedTransformer
from transformer_lens.kv_cache import HookedTransformerKeyValueCache

__version__ = "0.1.0"

_LAZY_MODULES = {"patching", "utils", "evals", "head_detector", "loading", "weight_processing", "components", "hook_names"}
_LAZY_ATTRIBUTES = {
    "HookedEncoder": "transformer_lens.hooked_encoder",
    "HookedEncoderConfig": "transformer_lens.hooked_encoder",
}

__all__ = [
    "ActivationCache",
    "FactoredMatrix",
    "HookedRootModule",
    "HookedTransformer",
    "HookedTransformerConfig",
    "HookedTransformerKeyValueCache",
    "HookPoint",
    "HookedEncoder",
    "patching",
    "utils",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        return importlib.import_module(f"transformer_lens.{name}")
    if name in _LAZY_ATTRIBUTES:
        return getattr(importlib.import_module(_LAZY_ATTRIBUTES[name]), name)
    raise AttributeError(f"module 'transformer_lens' has no attribute {name!r}")
