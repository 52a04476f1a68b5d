"""AttentionPatterns: per-head thumbnails plus a large, hoverable view of one head."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import traitlets

from lenslab.widgets._base import LensWidget, batched_str_tokens, bundle
from lenslab.widgets._tensor_payload import Precision, check_finite, check_scale, encode, shape_text, to_numpy

PATTERN_HOOK = "blocks.{layer}.attn.hook_pattern"
#: Rows of the large view: destinations (queries; the default) or sources (keys: the pattern transposed).
VIEW_BY = ("destination", "source")


def is_cache_like(obj: Any) -> bool:
    """An ActivationCache or a plain dict of hook name -> tensor (not an array itself)."""
    return hasattr(obj, "keys") and hasattr(obj, "__getitem__") and not hasattr(obj, "shape")


def check_cache_keys(cache: Any) -> list[str]:
    """The cache's keys, which must be hook names (strings)."""
    keys = list(cache.keys())
    for key in keys:
        if not isinstance(key, str):
            raise TypeError(f"cache keys must be hook names (strings such as 'blocks.0.attn.hook_pattern'), got {type(key).__name__} key {key!r}")
    return keys


def _n_layers(cache: Any) -> Optional[int]:
    cfg = getattr(getattr(cache, "model", None), "cfg", None)
    if cfg is not None and hasattr(cfg, "n_layers"):
        return int(cfg.n_layers)
    layers = [k for k in cache.keys() if k.endswith(".attn.hook_pattern")]
    return len(layers) or None


def pattern_from_cache(cache: Any, layer: Optional[int]) -> tuple[Any, int]:
    """The cached ``hook_pattern`` of `layer` (negative counts from the end) and the layer index."""
    check_cache_keys(cache)
    if layer is None:
        raise TypeError("AttentionPatterns with a cache needs layer=<int> (which layer's pattern to show)")
    if not isinstance(layer, (int, np.integer)):
        raise TypeError(f"layer must be an int, got {type(layer).__name__}")
    layer = int(layer)
    if layer < 0:
        n = _n_layers(cache)
        if n is None:
            raise ValueError(f"layer={layer} counts from the end, but the cache has no attention patterns")
        layer += n
    name = PATTERN_HOOK.format(layer=layer)
    if name not in cache.keys():
        cached = sorted(k for k in cache.keys() if k.endswith(".attn.hook_pattern"))
        hint = f"cached patterns: {', '.join(cached)}" if cached else "no hook_pattern was cached (check names_filter)"
        raise KeyError(f"{name} is not in the cache; {hint}")
    return cache[name], layer


def _one_of(name: str, value: Any, alias: str, alias_value: Any) -> Any:
    """`value`, or circuitsvis's keyword `alias` for it; both given is an error."""
    if alias_value is None:
        return value
    if value is not None:
        raise TypeError(f"pass {name}= or circuitsvis's {alias}=, not both")
    return alias_value


class AttentionPatterns(LensWidget):
    """Attention patterns of several heads: a thumbnail per head and a large view of one.

    Hovering a destination token (in the token strip or a row of the large view) shades the
    tokens it attends to and shows the weights. Hovering a head's thumbnail previews it in the
    large view; clicking selects it. The toolbar's toggle (``view_by``) flips the large view to
    rows by source: hovering a source token then shades the destinations that attend to it.

    Args:
        tokens: token strings (one per position), a prompt string or token ids (with a model
            from ``model=`` or ``cache.model``); None labels positions by index.
        pattern: ``[heads, dest, src]`` or ``[batch, heads, dest, src]`` (pick one with
            ``batch``). May also be an ActivationCache, as in ``AttentionPatterns(tokens, cache, layer=0)``.
        attention: circuitsvis's name for ``pattern``, so that
            ``AttentionPatterns(tokens=str_tokens, attention=pattern)`` takes circuitsvis's call as it is.
        cache: an ActivationCache to take ``blocks.{layer}.attn.hook_pattern`` from.
        layer: the layer (names heads ``L{layer}H{head}``; required with a cache).
        batch: which prompt of a batched pattern to show.
        head_names: custom head names (one per head); circuitsvis's ``attention_head_names`` also works.
        selected_head: the head shown large at first (synced both ways).
        view_by: ``"destination"`` (rows are queries) or ``"source"`` (rows are keys; synced both ways).
        vmax: top of the colour scale (weights are in [0, 1]).
        precision: payload dtype ("auto": float16 from 1M values on).
        allow_nan: show NaN/inf as grey cells instead of raising.
    """

    _esm = bundle("attention.js")

    tokens = traitlets.List(traitlets.Unicode(), help="one label per position").tag(sync=True)
    head_names = traitlets.List(traitlets.Unicode(), help="one name per head").tag(sync=True)
    selected_head = traitlets.Int(0, help="head shown in the large view").tag(sync=True)
    vmax = traitlets.Float(1.0, help="top of the colour scale").tag(sync=True)
    view_by = traitlets.Unicode("destination", help="rows of the large view: destination (queries) or source (keys)").tag(sync=True)

    def __init__(
        self,
        tokens: Any = None,
        pattern: Any = None,
        *,
        attention: Any = None,
        attention_head_names: Optional[Sequence[str]] = None,
        cache: Any = None,
        layer: Optional[int] = None,
        batch: int = 0,
        model: Any = None,
        head_names: Optional[Sequence[str]] = None,
        selected_head: int = 0,
        view_by: str = "destination",
        title: Optional[str] = None,
        vmax: float = 1.0,
        precision: Precision = "auto",
        allow_nan: bool = False,
        **kwargs: Any,
    ) -> None:
        pattern = _one_of("pattern", pattern, "attention", attention)
        head_names = _one_of("head_names", head_names, "attention_head_names", attention_head_names)
        if pattern is not None and is_cache_like(pattern):
            if cache is not None:
                raise TypeError("pass the cache once: either as the second argument or as cache=")
            cache, pattern = pattern, None
        if (pattern is None) == (cache is None):
            raise TypeError("AttentionPatterns needs either pattern=[heads, dest, src] or cache= with layer=")
        if cache is not None:
            pattern, layer = pattern_from_cache(cache, layer)
            model = model if model is not None else getattr(cache, "model", None)
        full = to_numpy(pattern, "pattern")
        arr = self._pick_batch(full, batch)
        n_heads, n_dest, n_src = arr.shape
        if n_dest != n_src:
            raise ValueError(f"pattern must be square in its last two dimensions [heads, dest, src]; got {shape_text(arr.shape)}")
        if n_heads == 0 or n_dest == 0:
            empty = "heads" if n_heads == 0 else "positions"
            raise ValueError(f"pattern of shape {shape_text(full.shape)} has no {empty}: nothing to show")
        labels = self._labels(tokens, model, batch, n_dest, full.shape[0] if full.ndim == 4 else None)
        names = self._head_names(head_names, layer, n_heads)
        if not 0 <= selected_head < n_heads:
            raise ValueError(f"selected_head={selected_head} is out of range for {n_heads} heads")
        vmax = check_scale(vmax)
        check_finite(arr, "pattern", allow_nan)
        if title is None:
            title = f"Layer {layer} attention" if layer is not None else "Attention patterns"
        super().__init__(
            **encode(arr, precision).traits(),
            tokens=labels,
            head_names=names,
            selected_head=int(selected_head),
            vmax=float(vmax),
            view_by=view_by,
            title=title,
            **kwargs,
        )

    @traitlets.validate("view_by")
    def _check_view_by(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"]
        if value not in VIEW_BY:
            raise traitlets.TraitError(f"view_by must be one of {', '.join(map(repr, VIEW_BY))}; got {value!r}")
        return str(value)

    @staticmethod
    def _pick_batch(arr: np.ndarray, batch: int) -> np.ndarray:
        if arr.ndim == 4:
            if not -arr.shape[0] <= batch < arr.shape[0]:
                raise ValueError(f"batch={batch} is out of range for a pattern of shape {shape_text(arr.shape)}")
            return arr[batch]
        if arr.ndim != 3:
            raise ValueError(f"pattern must be [heads, dest, src] (or [batch, heads, dest, src]); got rank {arr.ndim} shape {shape_text(arr.shape)}")
        return arr

    @staticmethod
    def _labels(tokens: Any, model: Any, batch: int, n_pos: int, n_batch: Optional[int]) -> list[str]:
        if tokens is None:
            return [str(i) for i in range(n_pos)]
        rows = batched_str_tokens(tokens, model)
        if len(rows) > 1 and n_batch is not None and len(rows) != n_batch:
            raise ValueError(
                f"tokens has {len(rows)} rows but the pattern's batch has {n_batch} prompts: "
                "pass one row per prompt, or a single row"
            )
        if len(rows) > 1 and not -len(rows) <= batch < len(rows):
            raise ValueError(f"batch={batch} is out of range for tokens with {len(rows)} rows")
        row = rows[batch] if len(rows) > 1 else rows[0]
        if len(row) != n_pos:
            raise ValueError(f"tokens has {len(row)} entries but the pattern has {n_pos} positions")
        return row

    @staticmethod
    def _head_names(head_names: Optional[Sequence[str]], layer: Optional[int], n_heads: int) -> list[str]:
        if head_names is not None:
            names = [str(n) for n in head_names]
            if len(names) != n_heads:
                raise ValueError(f"head_names has {len(names)} entries but the pattern has {n_heads} heads")
            return names
        prefix = f"L{layer}" if layer is not None else ""
        return [f"{prefix}H{h}" for h in range(n_heads)]

    def static_html(self) -> str:
        """Head thumbnails, the selected head large with every token label, a colour bar."""
        from lenslab.widgets import _static

        body, name = attention_static_body(self.tensor(), self.tokens, self.head_names, self.selected_head, self.vmax)
        return _static.document("AttentionPatterns", self.title, body, note=f"head {name} shown large")


def attention_static_body(pattern: np.ndarray, tokens: Sequence[str], head_names: Sequence[str], head: int, vmax: float) -> tuple[str, str]:
    """The static attention picture (``pattern`` [heads, dest, src]) and the name of the head shown large."""
    from lenslab.widgets import _static

    pattern = np.asarray(pattern, np.float64)
    n_heads = pattern.shape[0]
    head = head if 0 <= head < n_heads else 0
    finite = pattern[np.isfinite(pattern)]
    top = vmax if vmax > 0 else max(float(finite.max()) if finite.size else 1.0, 1e-6)
    scale = _static.sequential_scale(0.0, top)
    thumbs = []
    for h in range(n_heads):
        small = _static.block_mean(pattern[h], 64)
        edge = 72
        rows, cols = small.shape
        w, hgt = edge * cols / max(rows, cols), edge * rows / max(rows, cols)
        name = head_names[h] if h < len(head_names) else f"H{h}"
        chosen = h == head
        thumbs.append(_static.Svg(
            f'<image x="0" y="0" width="{w:.1f}" height="{hgt:.1f}" preserveAspectRatio="none" style="image-rendering:pixelated" '
            f'href="{_static.png_data_uri(scale.colors(small))}"><title>{_static._esc(name)}</title></image>'
            f'<rect x="0" y="0" width="{w:.1f}" height="{hgt:.1f}" fill="none" stroke="{"#1a73e8" if chosen else "#999"}" '
            f'stroke-width="{2 if chosen else 0.5}"/>'
            f'<text x="{w / 2:.1f}" y="{hgt + 12:.1f}" font-size="10.5" font-weight="{700 if chosen else 400}" text-anchor="middle" '
            f'fill="currentColor">{_static._esc(name)}</text>',
            max(w, 30), hgt + 16,
        ))
    name = head_names[head] if head < len(head_names) else f"H{head}"
    big = _static.heatmap_svg(pattern[head], scale, tokens, tokens, "destination", "source", caption=f"{name} (destination \u2193 \u00b7 source \u2192)")
    bar = _static.colorbar_svg(scale, min(320.0, max(120.0, big.height - 60)), "attention weight", bool((~np.isfinite(pattern)).any()))
    body = _static.svg_element(_static.svg_row(thumbs, gap=8, wrap=900), "attention heads")
    body += '<div style="height:8px"></div>' + _static.svg_element(_static.svg_row([big, bar], gap=20, wrap=10**6), f"attention pattern of {name}")
    return body, name
