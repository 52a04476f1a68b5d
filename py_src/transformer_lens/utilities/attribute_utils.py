"""Reading and writing attributes by dotted path (``"cfg.default_prepend_bos"``)."""

from __future__ import annotations

from typing import Any


def get_nested_attr(obj: Any, attr_str: str) -> Any:
    """``obj.a.b.c`` for ``attr_str == "a.b.c"``."""
    for name in attr_str.split("."):
        obj = getattr(obj, name)
    return obj


def set_nested_attr(obj: Any, attr_str: str, value: Any) -> None:
    """Set ``obj.a.b.c = value`` for ``attr_str == "a.b.c"``."""
    *parents, last = attr_str.split(".")
    setattr(get_nested_attr(obj, ".".join(parents)) if parents else obj, last, value)
