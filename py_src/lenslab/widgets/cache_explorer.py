"""CacheExplorer: browse an ActivationCache's hook points and look at slices of them.

The kernel keeps the cache. The widget syncs a summary of every hook (shape, dtype, mean,
std, norm) and only the slice being looked at: the front end sets ``selected`` / ``batch``
/ ``head`` / ``pos`` and the kernel answers with that slice's bytes.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import traitlets

from lenslab.widgets._base import LensWidget, batched_str_tokens, bundle
from lenslab.widgets._tensor_payload import Precision, encode, shape_text, to_numpy
from lenslab.widgets.attention import check_cache_keys, is_cache_like

POS_DIMS = ("pos", "query_pos", "key_pos")
HEAD_DIM = "head_index"
PATTERN_DIMS = (HEAD_DIM, "query_pos", "key_pos")
# The same labels as the front ends' hook tree (ts/core/hooktree.ts: hookGroupOf).
GROUP_FOR_COMPONENT = {"embed": "Embeddings", "final": "Final"}
#: Hooks whose -inf entries are the attention mask, not a numerical problem.
MASKED_HOOKS = ("hook_attn_scores",)


def _hook_spec(name: str) -> Any:
    try:
        from transformer_lens import hook_names
    except ImportError:  # pragma: no cover - the core ships with lenslab
        return None
    return hook_names.spec_for(name)


def hook_dims(name: str, ndim: int, has_batch: bool = True) -> tuple[str, ...]:
    """Names of the axes of a cached activation: from the core's hook table, else by rank."""
    spec = _hook_spec(name)
    if spec is not None:
        dims = tuple(spec.shape)
        if not has_batch and dims[:1] == ("batch",):
            dims = dims[1:]
        if len(dims) == ndim:
            return dims
    lead = ("batch",) if has_batch and ndim > 0 else ()
    rest = ndim - len(lead)
    if rest == 3 and name.endswith(("hook_pattern", "hook_attn_scores")):
        return lead + PATTERN_DIMS
    by_rank = {0: (), 1: ("pos",), 2: ("pos", "d"), 3: ("pos", HEAD_DIM, "d")}
    return lead + by_rank.get(rest, tuple(f"dim{i}" for i in range(rest)))


def hook_group(name: str) -> tuple[str, str]:
    """(group, component) for the tree: ("Layer 3", "attn"), ("Embeddings", "embed"), ..."""
    spec = _hook_spec(name)
    parts = name.split(".")
    layer = int(parts[1]) if len(parts) > 2 and parts[0] == "blocks" and parts[1].isdigit() else None
    if spec is not None:
        component = spec.component
    elif layer is not None:
        component = parts[2] if len(parts) > 3 else "block"
    else:
        component = parts[0] if len(parts) > 1 else "model"
    if layer is not None:
        return f"Layer {layer}", component
    return GROUP_FOR_COMPONENT.get(component, "Other"), component


def summarize(name: str, value: Any) -> dict[str, Any]:
    """Shape, dtype and statistics over the finite entries (std as torch's: unbiased), with the
    count of masked (-inf attention scores) and of other non-finite entries."""
    arr = to_numpy(value, name)
    flat = arr.reshape(-1).astype(np.float64, copy=False)
    finite = np.isfinite(flat)
    # Attention scores hold -inf where the causal (or padding) mask applies: expected, so counted
    # apart from NaN/inf that signal a problem.
    masked = int(np.isneginf(flat).sum()) if name.endswith(MASKED_HOOKS) else 0
    nonfinite = int(flat.size - finite.sum()) - masked
    vals = flat[finite] if nonfinite or masked else flat
    dtype = str(getattr(value, "dtype", arr.dtype)).replace("torch.", "")
    info: dict[str, Any] = {"name": name, "shape": [int(d) for d in arr.shape], "dtype": dtype, "nonfinite": nonfinite, "masked": masked}
    group, component = hook_group(name)
    info.update(group=group, component=component)
    info["mean"] = float(vals.mean()) if vals.size else None
    info["std"] = float(vals.std(ddof=1)) if vals.size > 1 else None
    info["norm"] = float(np.sqrt(np.dot(vals, vals))) if vals.size else None
    return info


class CacheExplorer(LensWidget):
    """Hook points of an ActivationCache grouped by layer and component, with a slice viewer.

    Selecting a hook shows a heatmap (positions x features) or, with a position chosen, a
    line plot; per-head hooks get a head control, batched caches a batch control, and
    attention patterns open in the attention view.

    Args:
        cache: an ActivationCache (or a dict of hook name -> tensor).
        model: decodes token ids (default: ``cache.model``).
        tokens: the prompt(s) as token strings, ids or a prompt string; labels positions.
        selected: the hook shown first (default: the first attention pattern, else the first hook).
        precision: payload dtype for slices ("auto": float16 from 1M values on).
    """

    _esm = bundle("cache_explorer.js")

    hooks = traitlets.List(traitlets.Dict(), help="summary of every hook").tag(sync=True)
    selected = traitlets.Unicode("", help="the hook being viewed").tag(sync=True)
    batch = traitlets.Int(0).tag(sync=True)
    head = traitlets.Int(0).tag(sync=True)
    pos = traitlets.Int(-1, help="-1: all positions (heatmap); else a line plot at that position").tag(sync=True)
    controls = traitlets.Dict(default_value={"batch": 0, "head": 0, "pos": 0}, help="sizes of the slice controls (0: not shown)").tag(sync=True)
    view = traitlets.Unicode("empty", help="heatmap, line, pattern or empty").tag(sync=True)
    tokens = traitlets.List(traitlets.Unicode(), help="labels of the current prompt's positions").tag(sync=True)
    row_axis = traitlets.Unicode("").tag(sync=True)
    col_axis = traitlets.Unicode("").tag(sync=True)
    row_labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    col_labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    layer = traitlets.Int(-1).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    revision = traitlets.Int(0, help="bumped with every new slice").tag(sync=True)

    def __init__(
        self,
        cache: Any,
        model: Any = None,
        tokens: Any = None,
        *,
        selected: Optional[str] = None,
        title: Optional[str] = None,
        precision: Precision = "auto",
        **kwargs: Any,
    ) -> None:
        if not is_cache_like(cache):
            raise TypeError(f"CacheExplorer needs an ActivationCache or a dict of hook name -> tensor, got {type(cache).__name__}")
        names = check_cache_keys(cache)
        self._cache = cache
        self._has_batch = bool(getattr(cache, "has_batch_dim", True))
        self._precision = precision
        self._updating = True  # no slice requests while the traits are first set
        model = model if model is not None else getattr(cache, "model", None)
        summaries = [summarize(n, cache[n]) for n in names]
        self._n_pos = self._positions(summaries)
        self._token_rows = self._resolve_tokens(tokens, model, cache, self._n_pos, self._batch_size(summaries))
        if selected is None:
            patterns = [n for n in names if n.endswith("hook_pattern")]
            selected = patterns[0] if patterns else (names[0] if names else "")
        elif selected not in names:
            raise KeyError(f"selected={selected!r} is not in the cache")
        if title is None:
            n_batch = summaries[0]["shape"][0] if summaries and self._has_batch and summaries[0]["shape"] else 1
            title = f"Activation cache \u00b7 batch {n_batch} \u00b7 {self._n_pos or 0} positions" if self._has_batch else "Activation cache"
        arr, traits = self._compute_slice(selected, 0, 0, -1)
        super().__init__(
            hooks=summaries,
            selected=selected,
            title=title,
            revision=1,
            **encode(np.ascontiguousarray(arr), precision).traits(),
            **traits,
            **kwargs,
        )
        self._updating = False

    def _positions(self, summaries: list[dict[str, Any]]) -> Optional[int]:
        for info in summaries:
            dims = hook_dims(info["name"], len(info["shape"]), self._has_batch)
            for d, size in zip(dims, info["shape"]):
                if d in POS_DIMS:
                    return int(size)
        return None

    def _batch_size(self, summaries: list[dict[str, Any]]) -> Optional[int]:
        for info in summaries:
            dims = hook_dims(info["name"], len(info["shape"]), self._has_batch)
            if dims[:1] == ("batch",):
                return int(info["shape"][0])
        return None

    @staticmethod
    def _resolve_tokens(
        tokens: Any, model: Any, cache: Any, n_pos: Optional[int], n_batch: Optional[int]
    ) -> Optional[list[list[str]]]:
        if tokens is None and "hook_tokens" in cache.keys():
            tokens = cache["hook_tokens"]
        if tokens is None:
            return None
        rows = batched_str_tokens(tokens, model)
        if len(rows) > 1 and len(rows) != (n_batch or 1):
            raise ValueError(
                f"tokens has {len(rows)} rows but the cache holds a batch of {n_batch or 1} prompt(s): "
                "pass one row per prompt, or a single row"
            )
        if n_pos is not None:
            for row in rows:
                if len(row) != n_pos:
                    raise ValueError(f"tokens has {len(row)} entries but the cached activations have {n_pos} positions")
        return rows

    def _tokens_for(self, batch: int, n: int) -> list[str]:
        rows = self._token_rows
        if rows:
            row = rows[batch] if batch < len(rows) else rows[0]
            if len(row) == n:
                return row
        return [str(i) for i in range(n)]

    @traitlets.observe("selected", "batch", "head", "pos")
    def _on_request(self, change: dict[str, Any]) -> None:
        if not self._updating:
            self._refresh()

    def _refresh(self) -> None:
        """Computes the slice for the current request and sends it with its labels in one message."""
        arr, traits = self._compute_slice(self.selected, self.batch, self.head, self.pos)
        self._updating = True
        try:
            self._set_payload(encode(np.ascontiguousarray(arr), self._precision), revision=self.revision + 1, **traits)
        finally:
            self._updating = False

    def _compute_slice(self, name: str, batch: int, head: int, pos: int) -> tuple[np.ndarray, dict[str, Any]]:
        """The array to show for a request, plus the traits describing it (clamped controls, labels)."""
        controls = {"batch": 0, "head": 0, "pos": 0}
        empty: dict[str, Any] = {"view": "empty", "controls": controls, "row_axis": "", "col_axis": "", "row_labels": [], "col_labels": [], "layer": -1}
        if name not in self._cache.keys():
            return np.zeros((0,), np.float32), {**empty, "message": f"{name!r} is not in the cache" if name else "The cache is empty."}
        arr = to_numpy(self._cache[name], name)
        dims = hook_dims(name, arr.ndim, self._has_batch)
        if dims[:1] == ("batch",):
            controls["batch"] = arr.shape[0]
            batch = batch if 0 <= batch < arr.shape[0] else 0
            arr, dims = arr[batch], dims[1:]
        else:
            batch = 0
        n_pos = next((size for d, size in zip(dims, arr.shape) if d in POS_DIMS), 0)
        tokens = self._tokens_for(batch, n_pos)
        layer_text = name.split(".")[1] if name.startswith("blocks.") else ""
        layer = int(layer_text) if layer_text.isdigit() else -1
        out: dict[str, Any] = {"row_axis": "", "col_axis": "", "row_labels": [], "col_labels": [], "message": ""}

        if dims == PATTERN_DIMS and name.endswith("hook_pattern"):
            view = "pattern"
        elif dims == PATTERN_DIMS:
            controls["head"] = arr.shape[0]
            head = head if 0 <= head < arr.shape[0] else 0
            arr, view = arr[head], "heatmap"
            out.update(row_axis="dest", col_axis="src", row_labels=tokens, col_labels=tokens)
        elif len(dims) >= 2 and dims[0] in POS_DIMS and (dims[1] == HEAD_DIM or len(dims) == 2):
            if dims[1] == HEAD_DIM and len(dims) == 3:
                controls["head"] = arr.shape[1]
                head = head if 0 <= head < arr.shape[1] else 0
                arr, dims = arr[:, head, :], (dims[0], dims[2])
            if arr.shape[1] == 1:  # a per-position scalar such as ln*.hook_scale
                arr, view = arr[:, 0], "line"
                out.update(col_axis="position", col_labels=tokens)
            else:
                controls["pos"] = arr.shape[0]
                pos = pos if -1 <= pos < arr.shape[0] else -1
                if pos == -1:
                    view = "heatmap"
                    out.update(row_axis="position", col_axis=dims[1], row_labels=tokens)
                else:
                    arr, view = arr[pos], "line"
                    out.update(col_axis=dims[1])
        elif len(dims) == 1:
            view = "line"
            out.update(col_axis=dims[0] if dims[0] not in POS_DIMS else "position", col_labels=tokens if dims[0] in POS_DIMS else [])
        elif arr.ndim == 0:
            view = "empty"
            out["message"] = f"{name} is a scalar: {float(arr)!r}"
        else:
            arr, view = arr.reshape(-1, arr.shape[-1]), "heatmap"
            out.update(row_axis="flattened", col_axis=dims[-1])
        return arr, dict(view=view, controls=controls, batch=batch, head=head, pos=pos, tokens=tokens, layer=layer, **out)

    def summary(self, name: str) -> dict[str, Any]:
        """The synced summary (shape, dtype, mean, std, norm) of one hook."""
        for info in self.hooks:
            if info["name"] == name:
                return info
        raise KeyError(f"{name!r} is not in the cache")

    def static_html(self) -> str:
        """The hook table and the slice being viewed, as self-contained HTML."""
        return _cache_static_html(self)

    def __repr__(self) -> str:
        return f"CacheExplorer({len(self.hooks)} hooks, selected={self.selected!r})"


__all__ = ["CacheExplorer", "hook_dims", "hook_group", "summarize", "shape_text"]


def _static_hook_table(hooks: list[dict[str, Any]], selected: str) -> str:
    """The hook list as an HTML table (name, shape, dtype, mean, std, norm), grouped like the tree."""
    from lenslab.widgets import _static

    esc, fmt = _static._esc, _static.format_value
    cell = "padding:1px 10px 1px 0;white-space:nowrap"
    num = cell + ";text-align:right;font-variant-numeric:tabular-nums"
    head = "".join(f'<th style="{num if i else cell};text-align:{"right" if i else "left"}">{t}</th>' for i, t in enumerate(("hook", "shape", "dtype", "mean", "std", "norm")))
    rows, group = [], None
    for info in hooks:
        if info.get("group") != group:
            group = info.get("group")
            rows.append(f'<tr><td colspan="6" style="{cell};font-weight:600;padding-top:4px">{esc(str(group))}</td></tr>')
        mark = "font-weight:600;" if info["name"] == selected else ""
        shape = "\u00d7".join(str(d) for d in info["shape"]) or "scalar"
        rows.append(
            f'<tr><td style="{mark}{cell};font-family:monospace">{esc(info["name"])}</td><td style="{num}">{shape}</td>'
            f'<td style="{num}">{esc(info["dtype"])}</td><td style="{num}">{fmt(info.get("mean"), 3)}</td>'
            f'<td style="{num}">{fmt(info.get("std"), 3)}</td><td style="{num}">{fmt(info.get("norm"), 3)}</td></tr>'
        )
    return f'<table style="border-collapse:collapse;font-size:11.5px;margin-bottom:10px"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _cache_static_html(self: CacheExplorer) -> str:
    """The hook table and the slice being viewed (heatmap, line or attention pattern)."""
    from lenslab.widgets import _static
    from lenslab.widgets.attention import attention_static_body

    parts = [_static_hook_table(list(self.hooks), self.selected)]
    caption = self.selected
    if self.view == "pattern":
        layer = self.layer
        names = [f"L{layer}H{i}" if layer >= 0 else f"H{i}" for i in range(self.shape[0])]
        body, _ = attention_static_body(self.tensor(), self.tokens, names, 0, 1.0)
        parts.append(f'<div style="font-weight:600;margin:4px 0">{_static._esc(caption)}</div>' + body)
    elif self.view == "heatmap":
        arr = self.tensor().astype(np.float64)
        scale = _static.diverging_scale(_static.max_abs(arr))
        hm = _static.heatmap_svg(arr, scale, self.row_labels or None, self.col_labels or None, self.row_axis, self.col_axis, max_size=520, caption=caption)
        bar = _static.colorbar_svg(scale, min(320.0, max(120.0, hm.height - 60)), "activation", bool((~np.isfinite(arr)).any()))
        parts.append(_static.svg_element(_static.svg_row([hm, bar], gap=20, wrap=10**6), caption))
    elif self.view == "line":
        line = _static.line_svg(self.tensor(), self.col_labels or None, self.col_axis)
        parts.append(f'<div style="font-weight:600;margin:4px 0">{_static._esc(caption)}</div>' + _static.svg_element(line, caption))
    elif self.message:
        parts.append(f"<div>{_static._esc(self.message)}</div>")
    return _static.document("CacheExplorer", self.title, "".join(parts), note=f"showing {self.selected}" if self.selected else "")

