"""Upstream names whose implementation other parts of LensLab add in their own modules.

An upstream-path module looks the name up where it is implemented; while that module is absent (a build
without it), the name raises NotImplementedError saying so instead of an ImportError from deep inside.
"""

from __future__ import annotations

import importlib
from typing import Any

from transformer_lens._not_provided import not_provided


def look_up(qualified_name: str, module_name: str, attribute: str, reason: str) -> Any:
    """``module_name.attribute``, or NotImplementedError naming ``qualified_name`` when it is not there."""
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError):
        raise not_provided(qualified_name, reason) from None
