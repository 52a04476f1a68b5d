"""The widgets' colour scales on the kernel side, for static HTML (``static_html()``).

The front end's scales are defined in ``js/src/shared/colorscale.ts``; this module computes the
same colours (same stops, same 511-entry table blended in linear light, same rounding away from
the centre, same black/white text rule) so a static picture matches the live widget.
tests/lenslab/test_colors.py checks the stops against the TypeScript source.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal, Sequence

import numpy as np

RGB = tuple[int, int, int]
Cmap = Literal["diverging", "sequential"]

#: White to deep blue (js/src/shared/colorscale.ts SEQUENTIAL_STOPS).
SEQUENTIAL_STOPS: tuple[RGB, ...] = ((255, 255, 255), (222, 235, 247), (158, 202, 225), (66, 146, 198), (8, 81, 156), (8, 48, 107))
#: Red through near-white to blue (js/src/shared/colorscale.ts DIVERGING_STOPS).
DIVERGING_STOPS: tuple[RGB, ...] = (
    (103, 0, 31), (178, 24, 43), (214, 96, 77), (244, 165, 130), (253, 219, 199), (247, 247, 247),
    (209, 229, 240), (146, 197, 222), (67, 147, 195), (33, 102, 172), (5, 48, 97),
)
NAN_COLOR: RGB = (150, 150, 150)
LUT_SIZE = 511
#: Relative luminance above which black text beats white (where both contrasts are equal, ~4.58:1).
BLACK_TEXT_ABOVE = 0.179


def _to_linear(c: np.ndarray) -> np.ndarray:
    s = c / 255.0
    return np.where(s <= 0.04045, s / 12.92, ((s + 0.055) / 1.055) ** 2.4)


def _from_linear(lin: np.ndarray) -> np.ndarray:
    s = np.where(lin <= 0.0031308, lin * 12.92, 1.055 * np.maximum(lin, 0) ** (1 / 2.4) - 0.055)
    return np.floor(np.clip(s, 0, 1) * 255 + 0.5).astype(np.int64)  # Math.round


@lru_cache(maxsize=None)
def lut(stops: tuple[RGB, ...]) -> np.ndarray:
    """[LUT_SIZE, 3] colours sampled evenly along `stops`, blended in linear light."""
    segments = len(stops) - 1
    t = np.arange(LUT_SIZE) / (LUT_SIZE - 1) * segments
    k = np.minimum(segments - 1, np.floor(t).astype(np.int64))
    f = (t - k)[:, None]
    lin = _to_linear(np.asarray(stops, dtype=np.float64))
    return _from_linear(lin[k] + (lin[k + 1] - lin[k]) * f)


def scale_range(values: np.ndarray, cmap: str = "auto", vmax: float | None = None) -> tuple[Cmap, float, float]:
    """(cmap, lo, hi) for `values`: diverging [-m, m] when any value is negative (or asked for), else sequential [0, m].

    ``m`` is ``vmax`` when given, else the largest |value| (1 when all are 0), so one symmetric
    scale covers every value shown together.
    """
    if cmap not in ("auto", "diverging", "sequential"):
        raise ValueError(f"cmap must be 'auto', 'diverging' or 'sequential'; got {cmap!r}")
    finite = values[np.isfinite(values)] if values.size else values
    lo_value = float(finite.min()) if finite.size else 0.0
    peak = float(np.abs(finite).max()) if finite.size else 0.0
    m = float(vmax) if vmax else (peak if peak > 0 else 1.0)
    kind: Cmap = ("diverging" if lo_value < 0 else "sequential") if cmap == "auto" else cmap  # type: ignore[assignment]
    if kind == "diverging":
        return kind, -m, m
    lo = min(0.0, lo_value)
    return kind, lo, m if m > lo else lo + 1.0


def lut_index(values: Sequence[float] | np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Table entry of each value on [lo, hi] (clamped; rounded away from the centre so +v and -v
    mirror), -1 for NaN/inf: the front end's ``lutIndex``."""
    v = np.asarray(values, dtype=np.float64)
    mid = (LUT_SIZE - 1) / 2
    with np.errstate(invalid="ignore"):
        d = (v - (lo + hi) / 2) * ((LUT_SIZE - 1) / (hi - lo))
        idx = np.where(d >= 0, mid + np.floor(d + 0.5), mid - np.floor(-d + 0.5))
    idx = np.clip(np.where(np.isfinite(v), idx, 0), 0, LUT_SIZE - 1).astype(np.int64)
    return np.where(np.isfinite(v), idx, -1)


def colors(values: Sequence[float] | np.ndarray, cmap: Cmap, lo: float, hi: float) -> list[RGB]:
    """The colour of each value on the scale [lo, hi] (the front end's ``rgbOf``)."""
    table = lut(DIVERGING_STOPS if cmap == "diverging" else SEQUENTIAL_STOPS)
    return [NAN_COLOR if i < 0 else (int(table[i][0]), int(table[i][1]), int(table[i][2])) for i in lut_index(values, lo, hi)]


def luminance(rgb: RGB) -> float:
    """WCAG relative luminance."""
    r, g, b = _to_linear(np.asarray(rgb, dtype=np.float64))
    return float(0.2126 * r + 0.7152 * g + 0.0722 * b)


def text_color_on(rgb: RGB) -> str:
    """Black or white text, whichever has the higher WCAG contrast on `rgb` (always >= 4.5:1)."""
    return "#000" if luminance(rgb) > BLACK_TEXT_ABOVE else "#fff"


def css(rgb: RGB) -> str:
    return f"rgb({rgb[0]}, {rgb[1]}, {rgb[2]})"
