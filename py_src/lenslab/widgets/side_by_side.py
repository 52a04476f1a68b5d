"""SideBySide: LensLab widgets next to each other, patching grids on one colour scale.

Two grids meant to be compared (exact patching against its attribution estimate, clean against
corrupted) are only comparable by eye when one colour means one value in both, so a
side-by-side view of PatchingGrids shares one symmetric ``vmax`` by default.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import ipywidgets
import numpy as np
import traitlets

from lenslab.widgets._base import LensWidget
from lenslab.widgets._tensor_payload import check_scale
from lenslab.widgets.patching_grid import PatchingGrid


def shared_vmax(grids: Sequence[PatchingGrid]) -> float:
    """The half-width of one symmetric colour scale covering every grid: the largest finite |value|.

    0.0 (each grid's own automatic scale) when there is no non-zero finite value at all.
    """
    top = 0.0
    for grid in grids:
        values = np.abs(np.asarray(grid._source, dtype=np.float64))  # the values before float16 encoding
        finite = values[np.isfinite(values)]
        if finite.size:
            top = max(top, float(finite.max()))
    return top


class SideBySide(ipywidgets.HBox):
    """Widgets in one row (wrapping when the output is narrow).

    Args:
        widgets: two or more LensLab widgets.
        same_scale: put every PatchingGrid on one symmetric colour scale (``vmax``). The
            default (None) does so when all widgets are PatchingGrids; True with another widget
            is an error.
        vmax: the shared half-width; 0 (default) means the largest |value| over all grids.

    ``vmax`` stays linked: setting it here, or on any of the grids, rescales all of them.
    """

    vmax = traitlets.Float(0.0, help="the shared half-width of the grids' colour scale")

    def __init__(self, *widgets: LensWidget, same_scale: Optional[bool] = None, vmax: float = 0.0, **kwargs: Any) -> None:
        if len(widgets) < 2:
            raise TypeError(f"SideBySide shows two or more widgets next to each other; got {len(widgets)}")
        for w in widgets:
            if not isinstance(w, LensWidget):
                raise TypeError(f"SideBySide takes LensLab widgets (see lenslab.to_widget); got {type(w).__name__}")
        grids = [w for w in widgets if isinstance(w, PatchingGrid)]
        if same_scale is None:
            same_scale = len(grids) == len(widgets)
        elif same_scale and len(grids) != len(widgets):
            others = sorted({type(w).__name__ for w in widgets if not isinstance(w, PatchingGrid)})
            raise TypeError(f"same_scale=True puts patching grids on one colour scale; {', '.join(others)} has no diverging scale to share")
        vmax = check_scale(vmax, zero_means="0 means the largest |value| over all grids")
        kwargs.setdefault("layout", ipywidgets.Layout(flex_flow="row wrap", align_items="flex-start"))
        super().__init__(children=list(widgets), **kwargs)
        self.same_scale = bool(same_scale)
        self._links: list[traitlets.link] = []
        if self.same_scale:
            self.vmax = float(vmax) or shared_vmax(grids)
            # Each grid follows the shared value, and a grid's own change moves the others.
            self._links = [traitlets.link((self, "vmax"), (g, "vmax")) for g in grids]

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        # The children's static copies in one row (where the widgets provide ``static_html``), so a
        # saved notebook shows the pair without a kernel, as each widget shown alone does.
        data = super()._repr_mimebundle_(**kwargs)
        statics = [getattr(w, "static_html", None) for w in self.children]
        if not isinstance(data, dict) or not all(callable(f) for f in statics):
            return data
        try:
            parts = [f() for f in statics]  # type: ignore[misc]
        except Exception:  # a broken static copy must never hide the live widgets
            return data
        cells = "".join(f'<div style="flex:0 1 auto;min-width:0">{part}</div>' for part in parts)
        return {**data, "text/html": f'<div class="lenslab-side-by-side" style="display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start">{cells}</div>'}

    @property
    def grids(self) -> list[PatchingGrid]:
        return [w for w in self.children if isinstance(w, PatchingGrid)]

    def __repr__(self) -> str:
        inner = ", ".join(repr(w) for w in self.children)
        scale = f", vmax={self.vmax:.4g}" if self.same_scale else ""
        return f"SideBySide({inner}{scale})"
