"""TopExamples: a Neuronpedia-style card of what makes a unit fire.

The top-k contexts, each token coloured by the unit's activation on one scale shared by all
contexts (the max token of each outlined), and a histogram of the unit's activations.
``lenslab.scale.top_examples`` produces exactly this constructor's arguments from a harvest.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import traitlets

from lenslab.widgets import _token_html
from lenslab.widgets._base import LensWidget, bundle
from lenslab.widgets._colors import scale_range
from lenslab.widgets._tensor_payload import encode, to_numpy


def _finite_list(value: Any, what: str) -> np.ndarray:
    arr = to_numpy(value, what).astype(np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a flat list of numbers; got shape {list(arr.shape)}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{what} has {bad.size} NaN/inf value(s), the first at index {int(bad[0])} ({arr[bad[0]]})")
    return arr


class TopExamples(LensWidget):
    """The top-k contexts of a unit with tokens coloured by activation, plus an activation histogram.

    Args:
        contexts: k contexts, each a list of token strings.
        values: the activation at each token of each context (same lengths as ``contexts``).
        scores: one score per context (its activation at the top token, usually), shown beside it.
        hist_counts: counts of the histogram's bins (n).
        hist_edges: the bins' edges (n + 1, increasing).
        title: heading of the card (e.g. ``"L3 neuron 271"``).
    """

    _esm = bundle("top_examples.js")

    tokens = traitlets.List(traitlets.Unicode(), help="every context's tokens, one context after another").tag(sync=True)
    lengths = traitlets.List(traitlets.Int(), help="tokens per context").tag(sync=True)
    scores = traitlets.List(traitlets.Float(), help="one score per context").tag(sync=True)
    max_positions = traitlets.List(traitlets.Int(), help="index of each context's highest activation").tag(sync=True)
    hist_counts = traitlets.List(traitlets.Int(), help="activation histogram: count per bin").tag(sync=True)
    hist_edges = traitlets.List(traitlets.Float(), help="activation histogram: bin edges (one more than counts)").tag(sync=True)
    cmap = traitlets.Unicode("sequential", help="the colour scale").tag(sync=True)
    vmin = traitlets.Float(0.0, help="the value at the scale's bottom").tag(sync=True)
    vmax = traitlets.Float(1.0, help="the value at the scale's top").tag(sync=True)

    def __init__(
        self,
        contexts: list[list[str]],
        values: list[list[float]],
        scores: list[float],
        hist_counts: list[int],
        hist_edges: list[float],
        title: str = "",
    ) -> None:
        contexts = list(contexts)
        values = list(values)
        score_arr = _finite_list(scores, "scores")
        if not len(contexts) == len(values) == len(score_arr):
            raise ValueError(f"contexts, values and scores must have one entry per example; got {len(contexts)}, {len(values)} and {len(score_arr)}")
        rows: list[np.ndarray] = []
        tokens: list[str] = []
        for i, (ctx, vals) in enumerate(zip(contexts, values)):
            if isinstance(ctx, str) or not all(isinstance(t, str) for t in ctx):
                raise TypeError(f"contexts[{i}] must be a list of token strings, got {type(ctx).__name__}")
            row = _finite_list(vals, f"values[{i}]")
            if len(ctx) != len(row):
                raise ValueError(f"contexts[{i}] has {len(ctx)} tokens but values[{i}] has {len(row)} values")
            if not len(ctx):
                raise ValueError(f"contexts[{i}] is empty")
            rows.append(row)
            tokens.extend(ctx)
        counts = to_numpy(hist_counts, "hist_counts")
        edges = _finite_list(hist_edges, "hist_edges")
        if counts.ndim != 1 or (counts.size and (counts.dtype.kind not in "iu" and not np.all(counts == np.round(counts)))):
            raise ValueError("hist_counts must be a flat list of whole numbers")
        if counts.size and counts.min() < 0:
            raise ValueError(f"hist_counts must not be negative; got {int(counts.min())}")
        if len(edges) != len(counts) + 1 and not (len(edges) == len(counts) == 0):
            raise ValueError(f"hist_edges must have one more entry than hist_counts; got {len(edges)} edges for {len(counts)} counts")
        if len(edges) and np.any(np.diff(edges) <= 0):
            raise ValueError("hist_edges must be strictly increasing")
        flat = np.concatenate(rows) if rows else np.zeros(0)
        kind, lo, hi = scale_range(flat)
        super().__init__(
            **encode(flat, "float32").traits(),
            tokens=tokens,
            lengths=[len(r) for r in rows],
            scores=[float(s) for s in score_arr],
            max_positions=[int(np.argmax(r)) for r in rows],
            hist_counts=[int(c) for c in counts],
            hist_edges=[float(e) for e in edges],
            cmap=kind,
            vmin=lo,
            vmax=hi,
            title=str(title),
        )

    @traitlets.validate("cmap")
    def _check_cmap(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in ("diverging", "sequential"):
            raise traitlets.TraitError(f"cmap must be 'diverging' or 'sequential'; got {proposal['value']!r}")
        return str(proposal["value"])

    def examples(self) -> list[tuple[list[str], np.ndarray]]:
        """(tokens, values) of each context, as the front end receives them (values float32)."""
        flat = self.tensor()
        out, start = [], 0
        for n in self.lengths:
            out.append((self.tokens[start : start + n], flat[start : start + n]))
            start += n
        return out

    def static_html(self) -> str:
        """Self-contained HTML of the card: histogram, colour bar and the coloured contexts."""
        cmap, lo, hi = self.cmap, self.vmin, self.vmax
        cards = []
        for k, ((toks, vals), score, top) in enumerate(zip(self.examples(), self.scores, self.max_positions)):
            head = f'<div style="color:#656d76;font-size:11px">#{k + 1} \u00b7 score {_token_html.format_value(score)}</div>'
            cards.append(
                f'<div class="lenslab-static-example" style="margin:6px 0;padding-top:4px;border-top:1px solid #eee">{head}'
                f'<div style="line-height:1.9">{_token_html.chips(toks, vals, cmap, lo, hi, highlight=top)}</div></div>'  # type: ignore[arg-type]
            )
        body = _histogram_html(self.hist_counts, self.hist_edges, cmap, lo, hi) + _token_html.colorbar(cmap, lo, hi) + "".join(cards)  # type: ignore[arg-type]
        return _token_html.box("top-examples", self.title or "Top activating examples", body)

    def __repr__(self) -> str:
        n = len(self.lengths)
        top = f", top score {_token_html.format_value(max(self.scores))}" if self.scores else ""
        title = f", title={self.title!r}" if self.title else ""
        return f"TopExamples({n} example{'' if n == 1 else 's'}, {len(self.tokens)} tokens{top}, {len(self.hist_counts)}-bin histogram{title})"


def _histogram_html(counts: Sequence[int], edges: Sequence[float], cmap: str, lo: float, hi: float, width: int = 320, height: int = 60) -> str:
    """Bars as inline-block divs, each coloured by its bin's centre, with the edge range below."""
    if not counts:
        return ""
    from lenslab.widgets._colors import colors, css

    peak = max(max(counts), 1)
    centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
    bar_w = width / len(counts)
    bars = "".join(
        f'<div title="[{_token_html.format_value(a)}, {_token_html.format_value(b)}): {c}" style="display:inline-block;vertical-align:bottom;'
        f"width:{bar_w:.2f}px;height:{max(c / peak * height, 1 if c else 0):.1f}px;background-color:{css(rgb)};outline:0.5px solid #bbb\"></div>"
        for a, b, c, rgb in zip(edges[:-1], edges[1:], counts, colors(centres, cmap, lo, hi))  # type: ignore[arg-type]
    )
    axis = (
        f'<div style="display:flex;justify-content:space-between;width:{width}px;font-size:10px;color:#444">'
        f"<span>{_token_html.format_value(edges[0])}</span><span>activation</span><span>{_token_html.format_value(edges[-1])}</span></div>"
    )
    return (
        f'<div class="lenslab-static-hist" style="display:inline-block;vertical-align:top">'
        f'<div style="font-size:10px;color:#444">count (max {peak})</div>'
        f'<div style="display:flex;align-items:flex-end;height:{height}px;width:{width}px;border-bottom:1px solid #999">{bars}</div>{axis}</div>'
    )
