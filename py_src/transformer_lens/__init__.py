"""LensLab's core: hooked transformer models with the TransformerLens 3.x API.

Upstream TransformerLens's module paths (``transformer_lens.HookedTransformer``, ``components.layer_norm``,
``utilities``, ``evals``, ...) are thin modules that give these same objects (docs/compatibility.md).
Heavy or optional modules (``patching``, ``HookedEncoder``, ``evals``, ``train``, ``utilities``...) load on first
use, so ``import transformer_lens`` stays fast.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

# Upstream's class-named modules (``transformer_lens.HookedTransformer`` the module) are imported
# first, then the names are bound to the classes, as upstream's package does: ``from transformer_lens
# import HookedTransformer`` gives the class, ``from transformer_lens.HookedTransformer import ...`` the module.
import transformer_lens.ActivationCache
import transformer_lens.FactoredMatrix
import transformer_lens.HookedRootModule
import transformer_lens.HookedTransformer
import transformer_lens.HookedTransformerConfig  # noqa: F401
from transformer_lens._not_provided import not_provided
from transformer_lens.activation_cache import ActivationCache
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.factored_matrix import FactoredMatrix
from transformer_lens.hook_points import HookedRootModule, HookPoint
from transformer_lens.hooked_transformer import HookedTransformer
from transformer_lens.kv_cache import HookedTransformerKeyValueCache

__version__ = "0.1.0"

# The names of TransformerLens before it was renamed (upstream 2.x still exports them).
EasyTransformer = HookedTransformer
EasyTransformerConfig = HookedTransformerConfig
EasyTransformerKeyValueCache = HookedTransformerKeyValueCache

_LAZY_MODULES = {
    "cache",
    "components",
    "evals",
    "factories",
    "head_detector",
    "hook_names",
    "lit",
    "hook_points",
    "loading",
    "loading_from_pretrained",
    "past_key_value_caching",
    "patching",
    "tools",
    "train",
    "utilities",
    "utils",
    "weight_processing",
}
# name -> (module that defines it, its name there)
_LAZY_ATTRIBUTES = {
    "HookedEncoder": ("transformer_lens.hooked_encoder", "HookedEncoder"),
    "HookedEncoderConfig": ("transformer_lens.hooked_encoder", "HookedEncoderConfig"),
    "SVDInterpreter": ("transformer_lens.svd_interpreter", "SVDInterpreter"),
    "BertNextSentencePrediction": ("transformer_lens.BertNextSentencePrediction", "BertNextSentencePrediction"),
    "HookedEncoderDecoder": ("transformer_lens.HookedEncoderDecoder", "HookedEncoderDecoder"),
    "TransformerLensKeyValueCache": ("transformer_lens.kv_cache", "HookedTransformerKeyValueCache"),
    "TransformerLensKeyValueCacheEntry": ("transformer_lens.kv_cache", "KeyValueCacheEntry"),
    "HookedTransformerKeyValueCacheEntry": ("transformer_lens.kv_cache", "KeyValueCacheEntry"),
    "EasyTransformerKeyValueCacheEntry": ("transformer_lens.kv_cache", "KeyValueCacheEntry"),
}
# Upstream names LensLab leaves out on purpose, and what to use instead.
_NOT_PROVIDED = {
    "HookedAudioEncoder": "audio (HuBERT) models are not supported; LensLab covers decoder LMs and BERT encoders",
    "TransformerBridgeConfig": "TransformerBridge is not part of LensLab; use HookedTransformer.from_pretrained",
    "model_bridge": "TransformerBridge is not part of LensLab; use HookedTransformer.from_pretrained",
    "conversion_utils": "TransformerBridge's weight-conversion steps are not part of LensLab (see transformer_lens.loading)",
    "supported_models": "the model list is transformer_lens.loading.OFFICIAL_MODEL_NAMES",
}

__all__ = [
    "ActivationCache",
    "BertNextSentencePrediction",
    "FactoredMatrix",
    "HookPoint",
    "HookedEncoder",
    "HookedRootModule",
    "HookedTransformer",
    "HookedTransformerConfig",
    "HookedTransformerKeyValueCache",
    "SVDInterpreter",
    "TransformerLensKeyValueCache",
    "TransformerLensKeyValueCacheEntry",
    "components",
    "factories",
    "patching",
    "utilities",
    "utils",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        return importlib.import_module(f"transformer_lens.{name}")
    if name in _LAZY_ATTRIBUTES:
        module_name, attribute = _LAZY_ATTRIBUTES[name]
        return getattr(importlib.import_module(module_name), attribute)
    if name in _NOT_PROVIDED:
        raise not_provided(f"transformer_lens.{name}", _NOT_PROVIDED[name])
    raise AttributeError(f"module 'transformer_lens' has no attribute {name!r}")


class _Package(types.ModuleType):
    """This package's module type: importing a class-named submodule leaves the attribute the class.

    Python binds ``transformer_lens.HookedEncoder`` to the submodule when ``transformer_lens.HookedEncoder``
    (the module) is first imported; upstream's package attribute is the class, so bind that instead.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY_ATTRIBUTES and isinstance(value, types.ModuleType) and value.__name__ == f"{__name__}.{name}":
            try:
                value = getattr(value, name)
            except NotImplementedError:
                return  # a name LensLab does not provide: leave it to __getattr__, which says so
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
