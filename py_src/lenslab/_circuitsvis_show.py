"""``.show()`` on circuitsvis's visualizations, as the user guide's tip calls it.

The guide writes ``cv.attention.attention_patterns(tokens=str_tokens, attention=pattern).show()``, but
circuitsvis's ``RenderedHTML`` has no ``show`` (a notebook shows it as a cell's last expression or through
``display``). ``import lenslab`` gives it one that displays it, so the guide's line runs as written. Nothing
else of circuitsvis changes, and a circuitsvis that grows its own ``show`` keeps it.

circuitsvis imports torch, so it is not imported here: the method is added when circuitsvis's render
module loads (or at once, when it already has).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import Any, Optional, Sequence

RENDER_MODULE = "circuitsvis.utils.render"


def show(self: Any) -> None:
    """Display this visualization in the notebook (offline, circuitsvis inlines its JavaScript)."""
    from IPython.display import display

    display(self)


def add_show(render: ModuleType) -> bool:
    """Give ``render.RenderedHTML`` a ``show`` unless it has one; True when added."""
    rendered = getattr(render, "RenderedHTML", None)
    if rendered is None or hasattr(rendered, "show"):
        return False
    rendered.show = show
    return True


class _AddShowOnImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader the other finders give for circuitsvis's render module."""

    def find_spec(self, fullname: str, path: Optional[Sequence[str]], target: Any = None) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname != RENDER_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        load = spec.loader.exec_module

        def load_then_add_show(module: ModuleType) -> None:
            load(module)
            add_show(module)

        spec.loader.exec_module = load_then_add_show  # type: ignore[method-assign]  # this spec's own loader
        return spec


def install() -> None:
    """Add ``show`` now if circuitsvis is loaded, else when it loads; a no-op without circuitsvis."""
    render = sys.modules.get(RENDER_MODULE)
    if render is not None:
        add_show(render)
        return
    if any(isinstance(f, _AddShowOnImport) for f in sys.meta_path):
        return
    if importlib.util.find_spec("circuitsvis") is None:
        return
    sys.meta_path.insert(0, _AddShowOnImport())
