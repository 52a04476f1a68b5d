"""PatchingGrid: heatmaps of activation-patching results, with click-to-select.

Every ``transformer_lens.patching`` output has a known layout (its *kind*); the grid turns it
into panels x rows x cols, labels each axis (layers ``L3``, heads ``H2``, positions by their
string tokens) and maps a clicked cell back to its index in the original tensor.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import numpy as np
import traitlets
from transformer_lens.hooked_model import HookedModel
from transformer_lens.sweeps import SWEEPS

from lenslab.widgets._base import LensWidget, batched_str_tokens, bundle
from lenslab.widgets._tensor_payload import Precision, check_finite, check_scale, encode, shape_text, to_numpy

#: Axis roles: how each dimension is labelled and titled.
AXIS_TITLES = {"layer": "layer", "head": "head", "pos": "position", "dest": "dest", "src": "src", "component": "component"}


@dataclass(frozen=True)
class GridKind:
    """The layout of one patching output: a role per tensor axis and how axes become the grid."""

    dims: tuple[str, ...]
    panels: tuple[int, ...]
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    description: str
    components: tuple[str, ...] = ()


def _grid_kinds() -> dict[str, GridKind]:
    """One grid kind per layout of the core's sweep registry (sweeps sharing a layout share axes)."""
    kinds: dict[str, GridKind] = {}
    for spec in SWEEPS.values():
        lay = spec.layout
        kind = GridKind(spec.roles, lay.panels, lay.rows, lay.cols, lay.description, spec.components)
        if kinds.setdefault(lay.name, kind) != kind:
            raise AssertionError(f"sweeps sharing the {lay.name!r} layout disagree on its axes")
    return kinds


GRID_KINDS: dict[str, GridKind] = _grid_kinds()
HEAD_COMPONENTS = GRID_KINDS["head_all_pos_every"].components
BLOCK_COMPONENTS = GRID_KINDS["block_every"].components

#: Names accepted before the registry (kept for users' code).
_LEGACY_ALIASES = {"head_all_pos": "layer_head"}

#: Sweep names and upstream function names -> grid kind, from the registry. Written out, never prefix-matched.
KIND_ALIASES: dict[str, str] = {
    **{name: spec.layout.name for spec in SWEEPS.values() for name in (spec.name, spec.function) if name not in GRID_KINDS},
    **_LEGACY_ALIASES,
}

#: Kinds considered when none is given, most common first (ties go to the earlier one).
_CANDIDATES_BY_RANK = {
    2: ("layer_pos", "layer_head"),
    3: ("head_all_pos_every", "block_every", "head_by_pos", "layer_head_pos"),
    4: ("head_by_pos_every", "pattern_dest_src"),
}


#: The kind of a tensor that is not a patching result: its axes are named by ``dims`` (default
#: ``dim0``, ``dim1``, ...), labelled by index, and laid out by rank (see `tensor_kind`).
TENSOR_KIND = "tensor"
#: Axis names of a plain tensor that are labelled with the prompt's tokens.
_POSITION_NAMES = ("pos", "position", "dest", "src", "token")


def tensor_kind(dims: Sequence[str]) -> GridKind:
    """The layout of a plain tensor: the last axis is the columns, the one before it the rows,
    and any leading axes become panels (no axis is assumed to be a layer or a head)."""
    n = len(dims)
    if n == 0:
        raise ValueError("a 0-d tensor has no axes to draw; pass a tensor with at least one dimension")
    return GridKind(tuple(dims), tuple(range(max(n - 2, 0))), (n - 2,) if n >= 2 else (), (n - 1,), "tensor")


def _tensor_dims(shape: Sequence[int], dims: Optional[Sequence[str]], n_pos: Optional[int]) -> tuple[str, ...]:
    """Checked axis names for a plain tensor; by default ``dim{i}``, with the last axis as long as the
    tokens named ``pos`` so that it is labelled with them."""
    if dims is None:
        names = [f"dim{i}" for i in range(len(shape))]
        matching = [i for i, size in enumerate(shape) if n_pos is not None and size == n_pos]
        if matching:
            names[matching[-1]] = "pos"
        return tuple(names)
    names = [str(d) for d in dims]
    if len(names) != len(shape):
        raise ValueError(f"dims names {len(names)} axes {names} but the tensor has shape {shape_text(shape)}")
    if len(set(names)) != len(names):
        raise ValueError(f"dims must name each axis once; got {names}")
    return tuple(names)


def resolve_kind(kind: Union[str, Callable[..., Any]]) -> str:
    """A grid kind from a kind name, an upstream function name, or the function itself."""
    name = getattr(kind, "__name__", kind)
    if not isinstance(name, str):
        raise TypeError(f"kind must be a string or a patching function, got {type(kind).__name__}")
    if name in GRID_KINDS or name == TENSOR_KIND:
        return name
    if name in KIND_ALIASES:
        return KIND_ALIASES[name]
    known = sorted(GRID_KINDS) + sorted(KIND_ALIASES)
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known kinds: {', '.join(sorted(GRID_KINDS))}"
    raise ValueError(f"unknown patching kind {name!r}{hint}")


def _expected_sizes(kind: GridKind, n_layers: Optional[int], n_heads: Optional[int], n_pos: Optional[int]) -> list[Optional[int]]:
    sizes = {"layer": n_layers, "head": n_heads, "pos": n_pos, "dest": n_pos, "src": n_pos, "component": len(kind.components) or None}
    return [sizes[d] for d in kind.dims]


def _match_score(kind: GridKind, shape: Sequence[int], **hints: Optional[int]) -> int:
    """How many axes a known size confirms; -1 when a known size contradicts the shape."""
    score = 0
    for want, got in zip(_expected_sizes(kind, **hints), shape):
        if want is not None:
            if want != got:
                return -1
            score += 1
    return score


def infer_kind(shape: Sequence[int], n_layers: Optional[int] = None, n_heads: Optional[int] = None, n_pos: Optional[int] = None) -> str:
    """Guesses the kind of a patching output from its rank and the sizes we know."""
    candidates = _CANDIDATES_BY_RANK.get(len(shape))
    if candidates is None:
        raise ValueError(f"patching results must have rank 2, 3 or 4; got shape {shape_text(shape)}")
    scores = [_match_score(GRID_KINDS[name], shape, n_layers=n_layers, n_heads=n_heads, n_pos=n_pos) for name in candidates]
    best = max(scores)
    if best >= 0:
        return candidates[scores.index(best)]  # the most confirmed axes; earlier candidates win ties
    raise ValueError(
        f"cannot tell which patching output has shape {shape_text(shape)} "
        f"(model: n_layers={n_layers}, n_heads={n_heads}; tokens: {n_pos}); pass kind=, e.g. kind='{candidates[0]}'"
    )


def _axis_labels(role: str, size: int, tokens: Optional[list[str]], components: tuple[str, ...], plain: bool = False) -> list[str]:
    if plain:  # a plain tensor: only position axes have names, the rest are indices
        if role in _POSITION_NAMES and tokens is not None and len(tokens) == size:
            return list(tokens)
        return [str(i) for i in range(size)]
    if role == "layer":
        return [f"L{i}" for i in range(size)]
    if role == "head":
        return [f"H{i}" for i in range(size)]
    if role == "component":
        return list(components) if len(components) == size else [str(i) for i in range(size)]
    return list(tokens) if tokens is not None and len(tokens) == size else [str(i) for i in range(size)]


def _combined(axes: tuple[int, ...], per_axis: list[list[str]], names: Optional[Sequence[str]] = None) -> list[str]:
    """Labels for a flattened group of axes: L0H3 for (layer, head), plain for one axis.

    With axis `names` (a plain tensor, whose indices alone would run together), panels read
    ``dim0 1, dim1 2``."""
    if names is not None and axes:
        per_axis = [[f"{names[a]} {part}" for part in labels] if a in axes else labels for a, labels in enumerate(per_axis)]
    labels = [""]
    for a in axes:
        sep = ", " if names is not None and labels != [""] else ""
        labels = [prefix + sep + part for prefix in labels for part in per_axis[a]]
    return labels if axes else [""]


class PatchingGrid(LensWidget):
    """Heatmap(s) of patching results on a diverging colour scale centred on zero.

    Clicking a cell sets ``selected`` (observe it with ``grid.observe(fn, "selected")``):
    a dict with ``panel``, ``row``, ``col``, their labels, the ``value``, the ``index`` into
    the original tensor and each named coordinate (``layer``, ``head``, ``pos``, ``component``).

    Args:
        results: a ``transformer_lens.patching`` output (torch tensor or array).
        kind: its layout: a grid kind (``"layer_pos"``, ``"head_all_pos_every"``, ... see
            ``GRID_KINDS``), an upstream function name or the function itself. Inferred from
            the shape (and ``model`` / ``tokens`` sizes) when omitted.
        model: the HookedTransformer (gives n_layers / n_heads and decodes token ids).
        tokens: the prompt's tokens for position labels (strings, ids or a prompt).
        labels: explicit labels, a mapping with any of ``"panels"``, ``"rows"``, ``"cols"``.
        dims: axis names of a tensor that is not a patching result (kind ``"tensor"``, implied
            by dims): the last axis becomes the columns, the one before the rows, the rest
            panels; axes are labelled by index (an axis named ``pos`` by the tokens).
        vmax: half-width of the colour range (default: the largest |value|).
        allow_nan: show NaN/inf as grey cells instead of raising.
    """

    _esm = bundle("patching_grid.js")

    panel_titles = traitlets.List(traitlets.Unicode()).tag(sync=True)
    row_labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    col_labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    row_axis = traitlets.Unicode("").tag(sync=True)
    col_axis = traitlets.Unicode("").tag(sync=True)
    vmax = traitlets.Float(0.0, help="half-width of the colour range; 0 means max |value|").tag(sync=True)
    kind = traitlets.Unicode("", help="the grid kind (layout) of the results").tag(sync=True)
    selected = traitlets.Dict(allow_none=True, default_value=None, help="the clicked cell").tag(sync=True)

    def __init__(
        self,
        results: Any,
        kind: Union[str, Callable[..., Any], None] = None,
        *,
        model: Optional[HookedModel] = None,
        tokens: Any = None,
        labels: Optional[Mapping[str, Sequence[str]]] = None,
        dims: Optional[Sequence[str]] = None,
        title: Optional[str] = None,
        vmax: float = 0.0,
        precision: Precision = "auto",
        allow_nan: bool = False,
        **kwargs: Any,
    ) -> None:
        arr = to_numpy(results, "results")
        cfg = getattr(model, "cfg", None)
        token_rows = batched_str_tokens(tokens, model) if tokens is not None else None
        str_tokens = token_rows[0] if token_rows else None
        n_pos = len(str_tokens) if str_tokens is not None else None
        if dims is not None and kind is not None and resolve_kind(kind) != TENSOR_KIND:
            raise TypeError(f"dims= names the axes of a plain tensor; kind={getattr(kind, '__name__', kind)!r} already fixes them: pass one of the two")
        name = TENSOR_KIND if dims is not None else resolve_kind(kind) if kind is not None else infer_kind(
            arr.shape, n_layers=getattr(cfg, "n_layers", None), n_heads=getattr(cfg, "n_heads", None), n_pos=n_pos
        )
        plain = name == TENSOR_KIND
        spec = tensor_kind(_tensor_dims(arr.shape, dims, n_pos)) if plain else GRID_KINDS[name]
        if arr.ndim != len(spec.dims):
            raise ValueError(f"kind {name!r} expects {len(spec.dims)} dims {list(spec.dims)}; got shape {shape_text(arr.shape)}")
        wanted = [n_pos if role in _POSITION_NAMES else None for role in spec.dims] if plain else _expected_sizes(spec, None, None, n_pos)
        for role, size, want in zip(spec.dims, arr.shape, wanted):
            if want is not None and want != size and role != "component":
                raise ValueError(f"tokens has {want} entries but the results' {role} axis has {size}")
        if spec.components and arr.shape[0] != len(spec.components):
            raise ValueError(f"kind {name!r} expects {len(spec.components)} components {list(spec.components)} on axis 0; got shape {shape_text(arr.shape)}")
        check_finite(arr, "results", allow_nan)
        vmax = check_scale(vmax, zero_means="0 means the largest |value|")

        self._spec = spec
        self._source_shape = tuple(int(d) for d in arr.shape)
        self._source = arr
        per_axis = [_axis_labels(role, size, str_tokens, spec.components, plain) for role, size in zip(spec.dims, arr.shape)]
        self._axis_labels = per_axis
        grid = arr.transpose(spec.panels + spec.rows + spec.cols).reshape(
            int(np.prod([arr.shape[a] for a in spec.panels], dtype=np.int64)),
            int(np.prod([arr.shape[a] for a in spec.rows], dtype=np.int64)),
            int(np.prod([arr.shape[a] for a in spec.cols], dtype=np.int64)),
        )
        traits = {
            "panel_titles": _combined(spec.panels, per_axis, spec.dims if plain else None),
            "row_labels": _combined(spec.rows, per_axis),
            "col_labels": _combined(spec.cols, per_axis),
        }
        for key, trait in (("panels", "panel_titles"), ("rows", "row_labels"), ("cols", "col_labels")):
            if labels and key in labels:
                given = [str(x) for x in labels[key]]
                if len(given) != len(traits[trait]):
                    raise ValueError(f"labels[{key!r}] has {len(given)} entries but the grid has {len(traits[trait])} {key}")
                traits[trait] = given
        if labels:
            unknown = set(labels) - {"panels", "rows", "cols"}
            if unknown:
                raise ValueError(f"labels accepts the keys 'panels', 'rows', 'cols'; got {sorted(unknown)}")
        super().__init__(
            **encode(grid, precision).traits(),
            **traits,
            row_axis="\u00b7".join(AXIS_TITLES.get(spec.dims[a], spec.dims[a]) for a in spec.rows),
            col_axis="\u00b7".join(AXIS_TITLES.get(spec.dims[a], spec.dims[a]) for a in spec.cols),
            vmax=float(vmax),
            kind=name,
            title=title if title is not None else (
                f"Tensor {shape_text(arr.shape)} (not a patching result)" if plain else f"Activation patching: {spec.description}"
            ),
            **kwargs,
        )

    def cell_info(self, panel: int, row: int, col: int) -> dict[str, Any]:
        """Everything about one grid cell: labels, value, and its index in the original results."""
        n_panels, n_rows, n_cols = self.shape
        for what, i, n in (("panel", panel, n_panels), ("row", row, n_rows), ("col", col, n_cols)):
            if not 0 <= i < n:
                raise ValueError(f"{what}={i} is out of range for a grid of {n} {what}s")
        spec = self._spec
        index = [0] * len(self._source_shape)
        for axes, flat in ((spec.panels, panel), (spec.rows, row), (spec.cols, col)):
            sizes = [self._source_shape[a] for a in axes]
            for a, i in zip(axes, np.unravel_index(flat, sizes) if axes else ()):
                index[a] = int(i)
        info: dict[str, Any] = {
            "panel": int(panel),
            "row": int(row),
            "col": int(col),
            "panel_label": self.panel_titles[panel],
            "row_label": self.row_labels[row],
            "col_label": self.col_labels[col],
            "value": float(self._source[tuple(index)]),
            "index": index,
        }
        for role, i in zip(spec.dims, index):
            info[role] = spec.components[i] if role == "component" and spec.components else i
        return info

    def select(self, panel: int, row: int, col: int) -> None:
        """Selects a cell from Python (as a click would)."""
        self.selected = {"panel": panel, "row": row, "col": col}

    @traitlets.validate("selected")
    def _fill_selection(self, proposal: dict[str, Any]) -> Optional[dict[str, Any]]:
        # The front end sends {panel, row, col}; fill in labels, value and source index.
        value = proposal["value"]
        if value is None:
            return None
        try:
            return self.cell_info(int(value["panel"]), int(value["row"]), int(value["col"]))
        except (KeyError, TypeError) as exc:
            raise traitlets.TraitError(f"selected must be a dict with integer panel, row and col; got {value!r}") from exc
        except ValueError as exc:
            raise traitlets.TraitError(str(exc)) from exc

    def static_html(self) -> str:
        """Every panel as a labelled heatmap on the shared diverging scale, with a colour bar."""
        from lenslab.widgets import _static

        grid = self.tensor().astype(np.float64)
        n_panels = grid.shape[0]
        scale = _static.diverging_scale(self.vmax if self.vmax > 0 else _static.max_abs(grid))
        size = 480 if n_panels == 1 else 300 if n_panels <= 3 else 220
        panels = [
            _static.heatmap_svg(
                grid[p], scale, self.row_labels, self.col_labels, self.row_axis, self.col_axis,
                max_size=size, caption=self.panel_titles[p] if p < len(self.panel_titles) else "",
            )
            for p in range(n_panels)
        ]
        body = _static.svg_row(panels)
        bar = _static.colorbar_svg(scale, min(320.0, max(120.0, panels[0].height - 40 if panels else 120.0)), "patching effect", bool((~np.isfinite(grid)).any()))
        figure = _static.svg_row([body, bar], gap=20, wrap=10**6)
        return _static.document("PatchingGrid", self.title, _static.svg_element(figure, self.title))
