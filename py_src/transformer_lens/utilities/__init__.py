"""Upstream's ``transformer_lens.utilities`` package: the helpers of ``utils`` grouped by topic.

Each name loads its submodule on first use, so importing the package costs nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> the submodule of this package that provides it
_PROVIDERS: dict[str, str] = {
    "get_nested_attr": "attribute_utils",
    "set_nested_attr": "attribute_utils",
    "USE_DEFAULT_VALUE": "defaults_utils",
    "LocallyOverridenDefaults": "defaults_utils",
    "override_or_use_default_value": "defaults_utils",
    "get_attention_mask": "tokenize_utils",
    "get_input_with_manually_prepended_bos": "tokenize_utils",
    "get_tokenizer_with_bos": "tokenize_utils",
    "get_tokens_with_bos_removed": "tokenize_utils",
    "tokenize_and_concatenate": "tokenize_utils",
}

__all__ = sorted(_PROVIDERS)


def __getattr__(name: str) -> Any:
    if name in _PROVIDERS:
        return getattr(importlib.import_module(f"{__name__}.{_PROVIDERS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PROVIDERS))
