"""Self-contained HTML of coloured tokens (the ``static_html()`` of ColoredTokens and TopExamples).

Inline styles only, no script: the picture survives a saved notebook, nbconvert, GitHub and
nbviewer. The live front end draws the same chips (``js/src/shared/token_chips.ts``).
"""

from __future__ import annotations

import html
from typing import Optional, Sequence

import numpy as np

from lenslab.widgets._colors import Cmap, colors, css, text_color_on

#: Longest chip text before it is cut with an ellipsis (js/src/shared/token_chips.ts CHIP_CHARS).
CHIP_CHARS = 24

_BOX = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:12px;line-height:1.4;color:#1f2328;background-color:#fff;border:1px solid #d8dee4;border-radius:6px;padding:10px 12px;max-width:100%;overflow-x:auto"
#: Only properties JupyterLab's sanitizer keeps on untrusted outputs (no gradients, no transforms).
_CHIP = "display:inline-block;min-width:10px;margin:1px;padding:1px 3px;border:1px solid #d8dee4;border-radius:3px;white-space:pre;font-family:ui-monospace,SFMono-Regular,Menlo,monospace"


def chip_text(token: str, max_chars: int = CHIP_CHARS) -> str:
    """A token as a chip shows it: newlines and tabs as symbols, an all-space token as dots."""
    text = token.replace("\r", "")
    if text and not text.strip():
        text = text.replace(" ", "\u00b7")
    text = text.replace("\n", "\u21b5").replace("\t", "\u21e5")
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "\u2026"
    return text


def format_value(v: float, digits: int = 6) -> str:
    """``digits`` significant digits (six: the hover text of a chip)."""
    if not np.isfinite(v):
        return "NaN" if np.isnan(v) else ("+inf" if v > 0 else "-inf")
    return f"{float(v):.{digits}g}"


def chips(tokens: Sequence[str], values: np.ndarray, cmap: Cmap, lo: float, hi: float, highlight: Optional[int] = None) -> str:
    """One <span> per token, background by value, hover (title) with index and exact value."""
    out = []
    for i, (tok, rgb) in enumerate(zip(tokens, colors(values, cmap, lo, hi))):
        style = f"{_CHIP};background-color:{css(rgb)};color:{text_color_on(rgb)}"
        if i == highlight:
            style += ";outline:2px solid #ffaa00;font-weight:600"
        tip = f"#{i} {token_repr(tok)}: {format_value(float(values[i]))}"
        out.append(f'<span data-pos="{i}" style="{style}" title="{html.escape(tip)}">{html.escape(chip_text(tok))}</span>')
        if tok.endswith("\n"):
            out.append("<br>")
    return "".join(out)


def token_repr(token: str) -> str:
    return "\u201c" + chip_text(token, 40) + "\u201d"


def colorbar(cmap: Cmap, lo: float, hi: float, width: int = 180, steps: int = 36) -> str:
    """A horizontal bar of `steps` swatches with the range's ends (and 0 on a diverging scale)
    labelled. Plain inline-block swatches, no gradient or transform: JupyterLab's sanitizer for
    untrusted outputs keeps them."""
    swatches = "".join(
        f'<span style="display:inline-block;width:{width / steps:.2f}px;height:10px;background-color:{css(rgb)}"></span>'
        for rgb in colors(np.linspace(lo, hi, steps), cmap, lo, hi)
    )
    ticks = [format_value(lo, 3), format_value(hi, 3)]
    if lo < 0 < hi and np.isclose(-lo, hi):
        ticks.insert(1, "0")  # the middle of a symmetric scale
    labels = "".join(f'<span style="font-size:10px;color:#444">{html.escape(t)}</span>' for t in ticks)
    return (
        f'<div class="lenslab-static-colorbar" style="display:inline-block;vertical-align:top;margin:8px 12px 4px;width:{width}px">'
        f'<div style="line-height:0;border:1px solid #bbb;white-space:nowrap">{swatches}</div>'
        f'<div style="display:flex;justify-content:space-between">{labels}</div></div>'
    )


def box(kind: str, title: str, body: str) -> str:
    heading = f'<div style="font-weight:600;font-size:13px;margin-bottom:6px">{html.escape(title)}</div>' if title else ""
    # The outer class and data attribute are the static-fallback marker (exactly class="lenslab-static").
    return f'<div class="lenslab-static" data-lenslab-static="{kind}" style="{_BOX}">{heading}{body}</div>'
