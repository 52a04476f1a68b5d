"""What bad-input tests check after every failing call: no hook is left on the model."""

from __future__ import annotations

from typing import Any


def attached_hooks(model: Any) -> list[str]:
    """Names of the hook points of ``model`` that still hold a forward or backward hook."""
    return [name for name, point in model.hook_dict.items() if point.fwd_hooks or point.bwd_hooks]
