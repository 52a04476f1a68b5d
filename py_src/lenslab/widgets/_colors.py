"""The widgets' colour scales on the kernel side, for static HTML (``static_html()``).

The scales' constants (stops, NaN grey, table size, black/white text threshold) are defined once,
in ``colorscale.json`` beside this module; js/src/shared/colorscale.ts bundles the same file for the
live widgets. This module computes the same colours from them as the front end (same 511-entry
table blended in linear light, same rounding away from the centre, same black/white text rule),
so a static picture matches the live widget.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any, Literal, Sequence

import numpy as np

RGB = tuple[int, int, int]
Cmap = Literal["diverging", "sequential"]

#: colorscale.json as loaded: each constant is ``SPEC[name]["value"]``, described by ``SPEC[name]["description"]``.
SPEC: dict[str, Any] = json.loads(resources.files("lenslab.widgets").joinpath("colorscale.json").read_text(encoding="utf-8"))


def _rgb(value: Sequence[int]) -> RGB:
    r, g, b = (int(x) for x in value)
    return (r, g, b)


#: White to deep blue (attention weights in [0, 1]).
SEQUENTIAL_STOPS: tuple[RGB, ...] = tuple(_rgb(s) for s in SPEC["sequential_stops"]["value"])
#: Red (negative) through near-white (zero) to blue (positive).
DIVERGING_STOPS: tuple[RGB, ...] = tuple(_rgb(s) for s in SPEC["diverging_stops"]["value"])
#: NaN and +-inf cells.
NAN_COLOR: RGB = _rgb(SPEC["nan_color"]["value"])
#: Entries in each lookup table (odd: the middle one is a diverging scale's centre).
LUT_SIZE: int = int(SPEC["lut_size"]["value"])
#: Relative luminance above which black text beats white (where both contrasts are equal, ~4.58:1).
BLACK_TEXT_ABOVE: float = float(SPEC["black_text_above"]["value"])


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
