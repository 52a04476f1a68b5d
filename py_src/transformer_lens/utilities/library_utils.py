"""Whether an optional library can be imported."""

from __future__ import annotations

import importlib.util
import sys

__all__ = ["is_library_available"]


def is_library_available(name: str) -> bool:
    """True when ``name`` is already imported or importable, without importing it."""
    return name in sys.modules or importlib.util.find_spec(name) is not None
