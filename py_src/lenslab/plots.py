"""Static plots that need no widget: an inline SVG the notebook keeps when saved.

``Scatter`` compares two estimates of the same quantities, e.g. exact activation patching
against its attribution estimate, one point per head: on the ``y = x`` line where they agree.
The picture is the output itself (``image/svg+xml``), so it shows on GitHub, nbviewer and after
a restart with no kernel and no JavaScript.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence
from xml.sax.saxutils import escape

import numpy as np

from lenslab.widgets._tensor_payload import shape_text, to_numpy

#: Plot area (px) and margins around it (left for y tick labels, bottom for x).
SIZE = 320
MARGIN = {"left": 56, "right": 16, "top": 40, "bottom": 46}


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten apart) covering [lo, hi]."""
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    t = first
    while t <= hi + step * 1e-9:
        ticks.append(float(f"{round(t / step) * step:.12g}") + 0.0)  # 0.6, not 0.6000000000000001; + 0.0: no "-0"
        t += step
    return ticks


def _fmt(v: float) -> str:
    return f"{v:.4g}".replace("-", "\u2212")


class Scatter:
    """A scatter plot of ``y`` against ``x`` as inline SVG, with the ``y = x`` line.

    Args:
        x, y: equally many numbers (tensors or arrays of any shape are flattened).
        labels: one name per point (e.g. ``L1H3``), shown on hover and next to the
            `annotate` points farthest from the median point (the outliers).
        xlabel, ylabel, title: axis titles and heading; the heading adds the correlation.
        diagonal: draw ``y = x`` and use one range for both axes (where the two agree).
        annotate: how many points get their label written next to them.
    """

    def __init__(
        self,
        x: Any,
        y: Any,
        labels: Optional[Sequence[str]] = None,
        *,
        xlabel: str = "x",
        ylabel: str = "y",
        title: str = "",
        diagonal: bool = True,
        annotate: int = 3,
    ) -> None:
        xs, ys = to_numpy(x, "x"), to_numpy(y, "y")
        if xs.size != ys.size:
            raise ValueError(f"x has {xs.size} values ({shape_text(xs.shape)}) but y has {ys.size} ({shape_text(ys.shape)})")
        if xs.size == 0:
            raise ValueError("Scatter needs at least one point; x and y are empty")
        self.x = xs.astype(np.float64).ravel()
        self.y = ys.astype(np.float64).ravel()
        if not (np.isfinite(self.x).all() and np.isfinite(self.y).all()):
            raise ValueError("x and y must be finite: drop NaN/inf points before plotting")
        self.labels = [str(s) for s in labels] if labels is not None else [str(i) for i in range(self.x.size)]
        if len(self.labels) != self.x.size:
            raise ValueError(f"labels has {len(self.labels)} entries for {self.x.size} points")
        self.xlabel, self.ylabel, self.title = xlabel, ylabel, title
        self.diagonal, self.annotate = diagonal, max(0, int(annotate))

    def correlation(self) -> float:
        """Pearson correlation of x and y (NaN when either is constant)."""
        if self.x.size < 2 or self.x.std() == 0 or self.y.std() == 0:
            return float("nan")
        return float(np.corrcoef(self.x, self.y)[0, 1])

    def ranges(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The data range of each axis: padded by 5%, shared when the diagonal is drawn, always with 0."""

        def padded(lo: float, hi: float) -> tuple[float, float]:
            lo, hi = min(lo, 0.0), max(hi, 0.0)
            pad = 0.05 * (hi - lo) or 1.0
            return lo - pad, hi + pad

        if self.diagonal:
            both = padded(min(self.x.min(), self.y.min()), max(self.x.max(), self.y.max()))
            return both, both
        return padded(self.x.min(), self.x.max()), padded(self.y.min(), self.y.max())

    def pixel(self, x: float, y: float) -> tuple[float, float]:
        """Where the data point (x, y) is drawn in the SVG."""
        (x0, x1), (y0, y1) = self.ranges()
        px = MARGIN["left"] + (x - x0) / (x1 - x0) * SIZE
        py = MARGIN["top"] + (y1 - y) / (y1 - y0) * SIZE
        return px, py

    def svg(self) -> str:
        (x0, x1), (y0, y1) = self.ranges()
        left, top = MARGIN["left"], MARGIN["top"]
        width, height = left + SIZE + MARGIN["right"], top + SIZE + MARGIN["bottom"]
        r = self.correlation()
        heading = self.title + (" \u00b7 " if self.title else "") + (f"r = {r:.3f}" if not math.isnan(r) else "")
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="lenslab-scatter" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11" role="img" aria-label="{escape(heading)}">',
            f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
            f'<text x="{left}" y="18" font-size="13" font-weight="bold" fill="#222">{escape(heading)}</text>',
            f'<rect x="{left}" y="{top}" width="{SIZE}" height="{SIZE}" fill="none" stroke="#999" stroke-width="0.75"/>',
        ]
        for t in nice_ticks(x0, x1):
            px, _ = self.pixel(t, y0)
            out.append(f'<line x1="{px:.2f}" y1="{top}" x2="{px:.2f}" y2="{top + SIZE}" stroke="#eee"/>')
            out.append(f'<text x="{px:.2f}" y="{top + SIZE + 14}" text-anchor="middle" fill="#444">{_fmt(t)}</text>')
        for t in nice_ticks(y0, y1):
            _, py = self.pixel(x0, t)
            out.append(f'<line x1="{left}" y1="{py:.2f}" x2="{left + SIZE}" y2="{py:.2f}" stroke="#eee"/>')
            out.append(f'<text x="{left - 5}" y="{py + 4:.2f}" text-anchor="end" fill="#444">{_fmt(t)}</text>')
        zx, zy = self.pixel(0.0, 0.0)
        out.append(f'<line x1="{zx:.2f}" y1="{top}" x2="{zx:.2f}" y2="{top + SIZE}" stroke="#bbb"/>')
        out.append(f'<line x1="{left}" y1="{zy:.2f}" x2="{left + SIZE}" y2="{zy:.2f}" stroke="#bbb"/>')
        if self.diagonal:
            (ax, ay), (bx, by) = self.pixel(x0, x0), self.pixel(x1, x1)
            out.append(f'<line class="lenslab-diagonal" x1="{ax:.2f}" y1="{ay:.2f}" x2="{bx:.2f}" y2="{by:.2f}" stroke="#888" stroke-dasharray="4 3"/>')
            out.append(f'<text x="{left + SIZE}" y="{top - 6}" text-anchor="end" fill="#777">dashed: y = x</text>')
        out.append(f'<text x="{left + SIZE / 2}" y="{height - 8}" text-anchor="middle" fill="#222">{escape(self.xlabel)}</text>')
        out.append(
            f'<text x="14" y="{top + SIZE / 2}" text-anchor="middle" fill="#222" transform="rotate(-90 14 {top + SIZE / 2})">{escape(self.ylabel)}</text>'
        )
        # The outliers get their names written: farthest from the median point (the bulk of heads
        # that do nothing sits at the unpatched baseline, not at the origin).
        spread = np.hypot(self.x - np.median(self.x), self.y - np.median(self.y))
        far = set(np.argsort(-spread, kind="stable")[: self.annotate].tolist())
        for i, (x, y, label) in enumerate(zip(self.x, self.y, self.labels)):
            px, py = self.pixel(x, y)
            tip = f"{label}: {self.xlabel} {_fmt(x)}, {self.ylabel} {_fmt(y)}"
            out.append(
                f'<circle class="lenslab-point" cx="{px:.3f}" cy="{py:.3f}" r="4" fill="#2166ac" fill-opacity="0.75" '
                f'stroke="#fff" stroke-width="0.75"><title>{escape(tip)}</title></circle>'
            )
            if i in far:
                # Labels in the right fifth go to the left of their point, so they stay inside the picture.
                right = px > left + 0.8 * SIZE
                anchor = f'x="{px - 6:.2f}" text-anchor="end"' if right else f'x="{px + 6:.2f}"'
                out.append(f'<text class="lenslab-point-label" {anchor} y="{py - 6:.2f}" fill="#222">{escape(label)}</text>')
        out.append("</svg>")
        return "\n".join(out)

    def _repr_svg_(self) -> str:
        return self.svg()

    def __repr__(self) -> str:
        r = self.correlation()
        return f"Scatter({self.x.size} points, {self.ylabel} against {self.xlabel}, r={r:.3f})"
