"""Static copies of the widgets: self-contained HTML (inline SVG) for the output's text/html.

A saved notebook keeps every output's mimebundle. Without a kernel (GitHub, nbviewer,
``jupyter nbconvert --to html``, or JupyterLab reopening the file) the widget model is gone, so
the widget view cannot render; the static copy shows the same picture: the same colour scales
(``_colors``: js/src/shared/colorscale.ts's computation, from the same colorscale.json), every row
and column label, the value of each cell in its hover title, and a colour bar.

No script, no external file, no CSS class that needs a stylesheet: only inline SVG attributes,
which sanitizers (JupyterLab for untrusted outputs, nbviewer, GitHub) keep. Large grids go in
as one embedded PNG (data URI) instead of one ``<rect>`` per cell.
"""

from __future__ import annotations

import base64
import html
import math
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from lenslab.widgets._colors import DIVERGING_STOPS, NAN_COLOR, RGB, SEQUENTIAL_STOPS, lut, lut_index

#: Grids with at most this many cells per panel are drawn cell by cell (each with its value as a
#: hover title); bigger ones become one PNG.
RECT_CELLS_MAX = 4096
#: Larger grids are averaged in blocks down to this many pixels a side in the static PNG.
PNG_SIDE_MAX = 512
#: Axes with at most this many entries get every label; longer ones are labelled every k-th.
LABELLED_MAX = 96
#: The marker the JupyterLab extension and the tests look for.
STATIC_CLASS = "lenslab-static"
FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"


@dataclass(frozen=True)
class Scale:
    """A colour scale over [vmin, vmax]: the front end's ColorScale, computed by ``_colors``."""

    vmin: float
    vmax: float
    stops: tuple[RGB, ...]

    def indices(self, values: np.ndarray) -> np.ndarray:
        """Table entry per value (the front end's lutIndex), -1 for NaN/inf."""
        return lut_index(np.asarray(values, np.float64), self.vmin, self.vmax)

    def colors(self, values: np.ndarray) -> np.ndarray:
        """uint8 RGB per value ([..., 3]); NaN and infinities are grey."""
        idx = self.indices(values)
        out = lut(self.stops).astype(np.uint8)[np.maximum(idx, 0)]
        out[idx < 0] = NAN_COLOR
        return out


def sequential_scale(vmin: float, vmax: float) -> Scale:
    return Scale(vmin, vmax if vmax > vmin else vmin + 1, SEQUENTIAL_STOPS)


def diverging_scale(vmax: float) -> Scale:
    m = vmax if math.isfinite(vmax) and vmax > 0 else 1.0
    return Scale(-m, m, DIVERGING_STOPS)


def max_abs(values: np.ndarray, fallback: float = 1.0) -> float:
    v = np.abs(np.asarray(values, np.float64))
    v = v[np.isfinite(v)]
    top = float(v.max()) if v.size else 0.0
    return top if top > 0 else fallback


def hex_color(rgb: Sequence[int]) -> str:
    return "#%02x%02x%02x" % (int(rgb[0]), int(rgb[1]), int(rgb[2]))


def format_value(v: Optional[float], digits: int = 4) -> str:
    """As formatValue in colorscale.ts: compact, exponent form for very large or small values."""
    if v is None:
        return "\u2013"
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e5 or a < 1e-3:
        return f"{v:.{max(0, digits - 2)}e}"
    text = f"{float(f'{v:.{digits}g}'):.12g}"
    return text


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round ticks (1, 2, 5 x 10^k) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        return [lo]
    raw = (hi - lo) / max(1, count - 1)
    mag = 10 ** math.floor(math.log10(raw))

    def fits(step: float) -> bool:
        return math.floor(hi / step + 1e-9) - math.ceil(lo / step - 1e-9) + 1 <= count

    step = next((m * mag for m in (1, 2, 5, 10, 20) if fits(m * mag)), 20 * mag)
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    return [0.0 if abs(i * step) < step * 1e-9 else float(f"{i * step:.12g}") for i in range(first, last + 1)]


def colorbar_ticks(lo: float, hi: float, height: float) -> list[float]:
    """Round ticks, one per ~28 px, plus both ends of the scale when no tick sits near them."""
    ticks = nice_ticks(lo, hi, max(5, int(height // 28)))
    near = (hi - lo) * 12 / max(height, 1)  # within 12 px
    if not ticks or ticks[-1] < hi - near:
        ticks.append(hi)
    if ticks[0] > lo + near:
        ticks.insert(0, lo)
    return ticks


def display_token(token: str, max_chars: int = 16) -> str:
    """Whitespace made visible (newline as a return-arrow, tab as an arrow), cut to ``max_chars``."""
    s = re.sub("\r\n|[\n\r\u2028\u2029\u0085\v\f]", "\u21b5", token).replace("\t", "\u21e5")
    return s if len(s) <= max_chars else s[: max_chars - 1] + "\u2026"


def png_data_uri(rgb: np.ndarray) -> str:
    """A [h, w, 3] uint8 image as a PNG data URI (zlib only; no imaging library)."""
    h, w, _ = rgb.shape

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    raw = np.concatenate([np.zeros((h, 1), np.uint8), np.ascontiguousarray(rgb, np.uint8).reshape(h, w * 3)], axis=1)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)) + chunk(b"IEND", b"")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _label_step(n: int) -> int:
    return 1 if n <= LABELLED_MAX else math.ceil(n / (LABELLED_MAX // 2))


@dataclass
class Svg:
    """An SVG fragment with its size, placed by the caller."""

    body: str
    width: float
    height: float


def heatmap_svg(
    values: np.ndarray,
    scale: Scale,
    row_labels: Optional[Sequence[str]] = None,
    col_labels: Optional[Sequence[str]] = None,
    row_axis: str = "",
    col_axis: str = "",
    max_size: float = 480,
    max_cell: float = 28,
    caption: str = "",
) -> Svg:
    """A labelled heatmap: every label (for axes up to LABELLED_MAX), full labels in hover titles."""
    values = np.asarray(values, np.float64)
    rows, cols = values.shape
    rows_l = [str(x) for x in row_labels] if row_labels is not None and len(row_labels) == rows else [str(i) for i in range(rows)]
    cols_l = [str(x) for x in col_labels] if col_labels is not None and len(col_labels) == cols else [str(i) for i in range(cols)]
    labelled = rows <= LABELLED_MAX and cols <= LABELLED_MAX
    # Cells big enough for a 10 px label when every label is drawn.
    min_cell = 12 if labelled else 1
    cell = max(min_cell, min(max_cell, max_size / max(rows, cols, 1)))
    font = min(11, max(7, cell - 2)) if labelled else 10
    row_text = [display_token(s) for s in rows_l]
    col_text = [display_token(s) for s in cols_l]
    char = font * 0.62
    row_w = max((len(s) for s in row_text), default=0) * char + 8
    col_w = max((len(s) for s in col_text), default=0) * char + 6
    vertical = col_w > cell
    col_h = col_w if vertical else font + 6
    axis = 16
    caption_h = 18 if caption else 0
    gx, gy = (axis if row_axis else 0) + row_w, caption_h
    gw, gh = cell * cols, cell * rows
    parts: list[str] = []
    if caption:
        parts.append(f'<text x="{gx:.1f}" y="13" font-size="12" font-weight="600" fill="currentColor">{_esc(caption)}</text>')
    colors = scale.colors(values)
    if rows * cols <= RECT_CELLS_MAX:
        for r in range(rows):
            for c in range(cols):
                tip = f"{rows_l[r]} \u00b7 {cols_l[c]}: {format_value(values[r, c])}"
                parts.append(
                    f'<rect x="{gx + c * cell:.2f}" y="{gy + r * cell:.2f}" width="{cell:.2f}" height="{cell:.2f}" '
                    f'fill="{hex_color(colors[r, c])}"><title>{_esc(tip)}</title></rect>'
                )
    else:
        # One image; above PNG_SIDE_MAX cells a side, block means keep the notebook small.
        pixels = colors if max(rows, cols) <= PNG_SIDE_MAX else scale.colors(block_mean(values, PNG_SIDE_MAX))
        parts.append(
            f'<image x="{gx:.2f}" y="{gy:.2f}" width="{gw:.2f}" height="{gh:.2f}" preserveAspectRatio="none" '
            f'style="image-rendering:pixelated" href="{png_data_uri(pixels)}"/>'
        )
    parts.append(f'<rect x="{gx:.2f}" y="{gy:.2f}" width="{gw:.2f}" height="{gh:.2f}" fill="none" stroke="#999" stroke-width="0.5"/>')
    step_r, step_c = _label_step(rows), _label_step(cols)
    for r in range(0, rows, step_r):
        y = gy + (r + 0.5) * cell
        parts.append(
            f'<text x="{gx - 4:.1f}" y="{y:.1f}" font-size="{font:.0f}" text-anchor="end" dominant-baseline="central" '
            f'fill="currentColor"><title>{_esc(rows_l[r])}</title>{_esc(row_text[r])}</text>'
        )
    for c in range(0, cols, step_c):
        x = gx + (c + 0.5) * cell
        if vertical:
            attrs = f'transform="translate({x:.1f},{gy + gh + 4:.1f}) rotate(90)" dominant-baseline="central"'
        else:
            attrs = f'x="{x:.1f}" y="{gy + gh + font + 2:.1f}" text-anchor="middle"'
        parts.append(f'<text {attrs} font-size="{font:.0f}" fill="currentColor"><title>{_esc(cols_l[c])}</title>{_esc(col_text[c])}</text>')
    if row_axis:
        cy = gy + gh / 2
        parts.append(
            f'<text transform="translate(10,{cy:.1f}) rotate(-90)" font-size="11" font-style="italic" text-anchor="middle" '
            f'fill="currentColor">{_esc(row_axis)}</text>'
        )
    if col_axis:
        parts.append(
            f'<text x="{gx + gw / 2:.1f}" y="{gy + gh + col_h + 14:.1f}" font-size="11" font-style="italic" text-anchor="middle" '
            f'fill="currentColor">{_esc(col_axis)}</text>'
        )
    return Svg("".join(parts), gx + gw + 4, gy + gh + col_h + (18 if col_axis else 2))


def colorbar_svg(scale: Scale, height: float, label: str = "", nan: bool = False, top: float = 18) -> Svg:
    """A vertical colour bar (max at the top) with round ticks and both ends labelled."""
    height = max(100.0, height)
    n = 64
    ramp = scale.colors(np.linspace(scale.vmax, scale.vmin, n))
    stops = "".join(f'<stop offset="{i / (n - 1):.4f}" stop-color="{hex_color(ramp[i])}"/>' for i in range(n))
    gid = f"lenslab-cb-{abs(hash((scale.vmin, scale.vmax, scale.stops))) % 10**8}"
    parts = [
        f'<defs><linearGradient id="{gid}" x1="0" y1="0" x2="0" y2="1">{stops}</linearGradient></defs>',
        f'<rect x="0" y="0" width="12" height="{height:.1f}" fill="url(#{gid})" stroke="#999" stroke-width="0.5"/>',
    ]
    for t in colorbar_ticks(scale.vmin, scale.vmax, height):
        y = (scale.vmax - t) / (scale.vmax - scale.vmin) * height
        parts.append(f'<line x1="12" x2="16" y1="{y:.1f}" y2="{y:.1f}" stroke="currentColor" stroke-width="0.8"/>')
        parts.append(f'<text x="18" y="{y:.1f}" font-size="10" dominant-baseline="central" fill="currentColor">{_esc(format_value(t, 3))}</text>')
    h = height
    if nan:
        parts.append(f'<rect x="0" y="{h + 8:.1f}" width="12" height="10" fill="{hex_color(NAN_COLOR)}"/>')
        parts.append(f'<text x="18" y="{h + 13:.1f}" font-size="10" dominant-baseline="central" fill="currentColor">NaN / inf / masked</text>')
        h += 22
    if label:
        parts.insert(0, f"<title>{_esc(label)}</title>")
    # `top` lines the bar up with a heatmap under a caption.
    return Svg(f'<g transform="translate(0,{top:.0f})">{"".join(parts)}</g>', 70 if not nan else 110, top + h + 6)


def svg_row(items: Sequence[Svg], gap: float = 18, wrap: float = 1100) -> Svg:
    """Places fragments left to right, wrapping at ``wrap`` pixels (panels of a patching grid)."""
    x = y = row_h = width = 0.0
    parts = []
    for item in items:
        if x > 0 and x + item.width > wrap:
            x, y = 0.0, y + row_h + gap
            row_h = 0.0
        parts.append(f'<g transform="translate({x:.1f},{y:.1f})">{item.body}</g>')
        x += item.width + gap
        width = max(width, x - gap)
        row_h = max(row_h, item.height)
    return Svg("".join(parts), width, y + row_h)


def svg_element(fragment: Svg, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xml:space="preserve" width="{math.ceil(fragment.width)}" '
        f'height="{math.ceil(fragment.height)}" viewBox="0 0 {math.ceil(fragment.width)} {math.ceil(fragment.height)}" '
        f'role="img" aria-label="{_esc(label)}" style="{FONT};overflow:visible;max-width:none">{fragment.body}</svg>'
    )


def document(kind: str, title: str, body: str, note: str = "") -> str:
    """The outer box every static copy shares (the marker class the labextension hides)."""
    foot = (
        '<div style="margin-top:6px;font-size:11px;opacity:0.8">Static copy of a LensLab widget'
        + (f" \u00b7 {_esc(note)}" if note else "")
        + "; run the notebook for the interactive view.</div>"
    )
    return (
        f'<div class="{STATIC_CLASS}" data-lenslab-static="{_esc(kind)}" style="{FONT};font-size:12px;'
        f'max-width:100%;overflow-x:auto;padding:4px 0">'
        f'<div style="font-size:13px;font-weight:600;margin-bottom:6px">{_esc(title)}</div>{body}{foot}</div>'
    )


def block_mean(arr: np.ndarray, max_side: int) -> np.ndarray:
    """Downsamples a 2-D array by averaging blocks so neither side exceeds ``max_side`` (thumbnails)."""
    rows, cols = arr.shape
    fr, fc = max(1, math.ceil(rows / max_side)), max(1, math.ceil(cols / max_side))
    if fr == 1 and fc == 1:
        return arr
    pr, pc = (-rows) % fr, (-cols) % fc
    padded = np.pad(np.asarray(arr, np.float64), ((0, pr), (0, pc)), constant_values=np.nan)
    with np.errstate(invalid="ignore"):
        blocks = padded.reshape(padded.shape[0] // fr, fr, padded.shape[1] // fc, fc)
        return np.nanmean(np.where(np.isfinite(blocks), blocks, np.nan), axis=(1, 3))


def line_svg(values: np.ndarray, labels: Optional[Sequence[str]], axis: str, width: float = 560, height: float = 230) -> Svg:
    """A line plot of a 1-D slice with its y range, for the cache explorer's line view."""
    v = np.asarray(values, np.float64).reshape(-1)
    finite = v[np.isfinite(v)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    n = max(1, v.size)
    show_labels = labels is not None and len(labels) == v.size and v.size <= LABELLED_MAX
    bottom = 74.0 if show_labels else 30.0
    left, top = 52.0, 6.0
    pw, ph = width - left - 8, height - top - bottom
    pts = " ".join(
        f"{left + (i + 0.5) / n * pw:.1f},{top + (hi - x) / (hi - lo) * ph:.1f}" for i, x in enumerate(v) if math.isfinite(x)
    )
    parts = [
        f'<rect x="{left}" y="{top}" width="{pw:.1f}" height="{ph:.1f}" fill="none" stroke="#999" stroke-width="0.5"/>',
        f'<polyline points="{pts}" fill="none" stroke="#2166ac" stroke-width="1.2"/>',
    ]
    for t in nice_ticks(lo, hi, 5):
        y = top + (hi - t) / (hi - lo) * ph
        parts.append(f'<text x="{left - 4}" y="{y:.1f}" font-size="10" text-anchor="end" dominant-baseline="central" fill="currentColor">{_esc(format_value(t, 3))}</text>')
    if show_labels:
        for i, lab in enumerate(labels or []):
            x = left + (i + 0.5) / n * pw
            parts.append(
                f'<text transform="translate({x:.1f},{top + ph + 4:.1f}) rotate(90)" font-size="9" dominant-baseline="central" '
                f'fill="currentColor"><title>{_esc(str(lab))}</title>{_esc(display_token(str(lab), 10))}</text>'
            )
    parts.append(f'<text x="{left + pw / 2:.1f}" y="{height - 2:.1f}" font-size="11" font-style="italic" text-anchor="middle" fill="currentColor">{_esc(axis)}</text>')
    return Svg("".join(parts), width, height)
