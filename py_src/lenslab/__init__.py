"""LensLab's Jupyter layer: widgets, displays and the sidebar comm for transformer_lens models.

``import lenslab`` is cheap: the widget classes (anywidget, numpy) load on first use. Inside a
Jupyter kernel the import also registers rich displays, so an ``ActivationCache`` or a
patching result left as a cell's last expression shows its widget (see ``lenslab.display``),
and registers the comm target of the JupyterLab sidebar (see ``lenslab.comm``).
"""

from __future__ import annotations

import importlib
from typing import Any

from lenslab._core_check import warn_if_core_shadowed

# First, before anything of ours imports transformer_lens: upstream's package may be the one found.
warn_if_core_shadowed()

from lenslab import _circuitsvis_show  # noqa: E402
from lenslab.comm.target import register_comm_target  # noqa: E402
from lenslab.display import register_formatters, show, to_widget, unregister_formatters  # noqa: E402

__version__ = "0.1.0"

_LAZY = {
    "AttentionPatterns": "lenslab.widgets.attention",
    "CacheExplorer": "lenslab.widgets.cache_explorer",
    "ColoredTokens": "lenslab.widgets.colored_tokens",
    "TopExamples": "lenslab.widgets.top_examples",
    "PatchingGrid": "lenslab.widgets.patching_grid",
    "Scatter": "lenslab.plots",
    "SideBySide": "lenslab.widgets.side_by_side",
    "LensWidget": "lenslab.widgets._base",
}

__all__ = [
    "AttentionPatterns",
    "CacheExplorer",
    "ColoredTokens",
    "LensWidget",
    "PatchingGrid",
    "Scatter",
    "SideBySide",
    "TopExamples",
    "register_formatters",
    "show",
    "to_widget",
    "unregister_formatters",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lenslab' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext lenslab``: the same set-up as importing lenslab in a kernel."""
    register_formatters(ipython)
    register_comm_target(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the JupyterLab sidebar extension lives (``jupyter labextension develop`` reads this)."""
    return [{"src": "labextension", "dest": "lenslab"}]


# A no-op outside a Jupyter kernel; idempotent, so re-importing or %load_ext is harmless.
register_formatters()
register_comm_target()
# The user guide's `cv.attention.attention_patterns(...).show()`: circuitsvis itself has no show().
_circuitsvis_show.install()
