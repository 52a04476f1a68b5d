"""The sweep registry: every activation-patching sweep, defined once.

A :class:`SweepSpec` says what one ``transformer_lens.patching`` sweep patches (the activation
and its patch setter), over which index axes, what each result axis means (its *role*, which
displays label), how a grid lays the result out, and whether the JupyterLab sidebar offers it.
Everything else is derived from :data:`SWEEPS`:

- ``transformer_lens.patching``'s ``get_act_patch_*`` functions (one per spec, built from it);
- the engine's number of patched runs for a model and prompt length (:func:`engine_runs`);
- ``lenslab``'s patching-grid layouts, labels and kind aliases;
- the sidebar's patch kinds, their labels and run counts, and the protocol's kind list.

Results carry their spec: :class:`PatchingResult` is a tensor that keeps ``.sweep`` through
``.cpu()``, ``.to()``, ``.clone()``, ``.detach()`` and ``.contiguous()``; every other operation
(indexing, arithmetic, comparisons, reductions) returns a plain ``torch.Tensor``, so code that
treats results as tensors sees ordinary tensors.

This module is core: it imports no Jupyter code.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional, Protocol

import torch

__all__ = ["Axis", "GridLayout", "PatchingResult", "SweepSpec", "SWEEPS", "axis_ranges", "engine_runs", "sidebar_sweeps", "spec_for"]


class SweepConfig(Protocol):
    """What the registry reads of a model config."""

    n_layers: int
    n_heads: int
    n_key_value_heads: Optional[int]


@dataclass(frozen=True)
class Axis:
    """One result axis: the engine's index name and the role displays label it by.

    Engine names: ``layer, pos, head, head_index, dest_pos, src_pos`` (upstream's
    ``index_axis_names``) or ``component`` (the stacked axis of a combined sweep).
    Roles: ``layer, pos, head, dest, src, component``.
    """

    name: str
    role: str


LAYER = Axis("layer", "layer")
POS = Axis("pos", "pos")
HEAD = Axis("head", "head")
HEAD_INDEX = Axis("head_index", "head")
DEST_AS_POS = Axis("dest_pos", "pos")
DEST = Axis("dest_pos", "dest")
SRC = Axis("src_pos", "src")
COMPONENT = Axis("component", "component")


@dataclass(frozen=True)
class GridLayout:
    """How a grid shows a result: the axes (by position) that make its panels, rows and columns."""

    name: str  # the grid kind, as ``PatchingGrid.kind`` reports it
    panels: tuple[int, ...]
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    description: str


LAYER_POS = GridLayout("layer_pos", (), (0,), (1,), "by layer and position")
LAYER_HEAD = GridLayout("layer_head", (), (0,), (1,), "heads, all positions")
LAYER_HEAD_POS = GridLayout("layer_head_pos", (), (0, 1), (2,), "heads by destination position")
HEAD_BY_POS = GridLayout("head_by_pos", (), (0, 2), (1,), "heads by position")
BLOCK_EVERY = GridLayout("block_every", (0,), (1,), (2,), "every block component")
HEAD_ALL_POS_EVERY = GridLayout("head_all_pos_every", (0,), (1,), (2,), "every head component, all positions")
HEAD_BY_POS_EVERY = GridLayout("head_by_pos_every", (0,), (1, 3), (2,), "every head component, by position")
PATTERN_DEST_SRC = GridLayout("pattern_dest_src", (0, 1), (2,), (3,), "head patterns by destination and source")


@dataclass(frozen=True)
class SweepSpec:
    """One sweep. A single sweep patches ``activation`` with ``setter`` (a setter name from
    ``transformer_lens.patching``) at every index of ``axes``; a combined sweep stacks the
    results of its ``parts`` (spec names) along a leading ``component`` axis labelled by
    ``components``, each part's axes permuted to the combined axes' roles and its head axis
    zero-padded to ``n_heads`` (grouped-query K/V have fewer heads)."""

    name: str
    function: str
    doc: str
    axes: tuple[Axis, ...]
    layout: GridLayout
    activation: str = ""
    setter: str = ""
    parts: tuple[str, ...] = ()
    components: tuple[str, ...] = ()
    sidebar_label: Optional[str] = None  # offered by the JupyterLab sidebar under this label

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(axis.role for axis in self.axes)

    @property
    def engine_axes(self) -> tuple[str, ...]:
        """The ``index_axis_names`` of a single sweep (combined sweeps have none of their own)."""
        return tuple(axis.name for axis in self.axes)

    @property
    def is_combined(self) -> bool:
        return bool(self.parts)

    def singles(self) -> tuple[SweepSpec, ...]:
        """The single sweeps this one runs: itself, or its parts."""
        return tuple(SWEEPS[name] for name in self.parts) if self.parts else (self,)

    def hooks(self) -> tuple[str, ...]:
        """Short hook names (``get_act_name``) every block needs for this sweep, in order, once each."""
        return tuple(dict.fromkeys(single.activation for single in self.singles()))


def _single(name: str, function: str, activation: str, setter: str, axes: tuple[Axis, ...], layout: GridLayout, doc: str, sidebar: Optional[str] = None) -> SweepSpec:
    return SweepSpec(name, function, doc, axes, layout, activation, setter, sidebar_label=sidebar)


_BY_POS = (LAYER, POS)
_HEAD_BY_POS = (LAYER, POS, HEAD)
_HEAD_ALL_POS = (LAYER, HEAD)
_GQA = " (``n_key_value_heads`` with GQA)"
_QKV = (("q", "queries", ""), ("k", "keys", _GQA), ("v", "values", _GQA))

_SPECS: tuple[SweepSpec, ...] = (
    *(
        _single(name, f"get_act_patch_{name}", name, "layer_pos_patch_setter", _BY_POS, LAYER_POS, doc, label)
        for name, doc, label in (
            ("resid_pre", "Patch the residual stream entering each block, per position", "Residual stream (block inputs), by position"),
            ("attn_out", "Patch each attention layer's output, per position", "Attention layer outputs, by position"),
            ("mlp_out", "Patch each MLP layer's output, per position", "MLP layer outputs, by position"),
        )
    ),
    SweepSpec("block_every", "get_act_patch_block_every",
              "Patch the residual stream (block input), attention output and MLP output per position",
              (COMPONENT, LAYER, POS), BLOCK_EVERY, parts=("resid_pre", "attn_out", "mlp_out"),
              components=("resid_pre", "attn_out", "mlp_out"), sidebar_label="Residual stream, attention and MLP outputs"),
    _single("heads_all_pos", "get_act_patch_attn_head_out_all_pos", "z", "layer_head_vector_patch_setter", _HEAD_ALL_POS, LAYER_HEAD,
            "Patch each head's output (``hook_z``) at every position at once", "Attention heads, all positions"),
    _single("heads_by_pos", "get_act_patch_attn_head_out_by_pos", "z", "layer_pos_head_vector_patch_setter", _HEAD_BY_POS, HEAD_BY_POS,
            "Patch each head's output (``hook_z``) at each position", "Attention heads, by position"),
    SweepSpec("head_components_all_pos", "get_act_patch_attn_head_all_pos_every",
              "Patch every head's output, query, key, value and pattern (all positions), stacked in that order",
              (COMPONENT, LAYER, HEAD), HEAD_ALL_POS_EVERY, parts=("heads_all_pos", "q_all_pos", "k_all_pos", "v_all_pos", "pattern_all_pos"),
              components=("output", "query", "key", "value", "pattern"), sidebar_label="Head output, query, key, value and pattern, all positions"),
    SweepSpec("head_components_by_pos", "get_act_patch_attn_head_by_pos_every",
              "Patch every head's output, query, key, value and pattern per position, stacked in that order "
              "(the pattern per destination position, transposed to ``[layer, pos, head]``)",
              (COMPONENT, LAYER, POS, HEAD), HEAD_BY_POS_EVERY, parts=("heads_by_pos", "q_by_pos", "k_by_pos", "v_by_pos", "pattern_by_pos"),
              components=("output", "query", "key", "value", "pattern"), sidebar_label="Head output, query, key, value and pattern, by position"),
    _single("resid_mid", "get_act_patch_resid_mid", "resid_mid", "layer_pos_patch_setter", _BY_POS, LAYER_POS,
            "Patch the residual stream between each block's attention and MLP, per position"),
    *(
        _single(f"{x}_by_pos", f"get_act_patch_attn_head_{x}_by_pos", x, "layer_pos_head_vector_patch_setter", _HEAD_BY_POS,
                HEAD_BY_POS, f"Patch each head's {what} at each position{note}")
        for x, what, note in _QKV
    ),
    _single("pattern_by_pos", "get_act_patch_attn_head_pattern_by_pos", "pattern", "layer_head_pos_pattern_patch_setter",
            (LAYER, HEAD_INDEX, DEST_AS_POS), LAYER_HEAD_POS, "Patch each head's attention pattern row for each destination position"),
    _single("pattern_dest_src", "get_act_patch_attn_head_pattern_dest_src_pos", "pattern", "layer_head_dest_src_pos_pattern_patch_setter",
            (LAYER, HEAD_INDEX, DEST, SRC), PATTERN_DEST_SRC, "Patch each single entry of each head's pattern"),
    *(
        _single(f"{x}_all_pos", f"get_act_patch_attn_head_{x}_all_pos", x, "layer_head_vector_patch_setter", _HEAD_ALL_POS,
                LAYER_HEAD, f"Patch each head's {what} at every position{note}")
        for x, what, note in _QKV
    ),
    _single("pattern_all_pos", "get_act_patch_attn_head_pattern_all_pos", "pattern", "layer_head_pattern_patch_setter",
            (LAYER, HEAD_INDEX), LAYER_HEAD, "Patch each head's whole attention pattern"),
)

#: Every sweep by name; the sidebar's kinds come first, in the order it lists them.
SWEEPS: dict[str, SweepSpec] = {spec.name: spec for spec in _SPECS}
_BY_FUNCTION: dict[str, SweepSpec] = {spec.function: spec for spec in _SPECS}


def spec_for(name: str) -> Optional[SweepSpec]:
    """The spec named by a sweep name or its ``get_act_patch_*`` function name, else None."""
    return SWEEPS.get(name) or _BY_FUNCTION.get(name)


def sidebar_sweeps() -> list[SweepSpec]:
    """The sweeps the JupyterLab sidebar offers, in its order."""
    return [spec for spec in _SPECS if spec.sidebar_label is not None]


def axis_ranges(cfg: SweepConfig, activation: str, n_pos: int) -> dict[str, int]:
    """The size of each engine index axis for ``activation`` on a model with ``cfg`` and ``n_pos`` tokens."""
    heads = cfg.n_heads
    if activation in ("k", "v") and cfg.n_key_value_heads is not None:
        heads = cfg.n_key_value_heads
    return {"layer": cfg.n_layers, "pos": n_pos, "head_index": heads, "head": heads, "src_pos": n_pos, "dest_pos": n_pos}


def engine_runs(spec: SweepSpec, cfg: SweepConfig, n_pos: int) -> int:
    """How many patched runs the engine makes for ``spec``: one per index of each single sweep."""
    return sum(_single_runs(single, cfg, n_pos) for single in spec.singles())


def _single_runs(single: SweepSpec, cfg: SweepConfig, n_pos: int) -> int:
    ranges = axis_ranges(cfg, single.activation, n_pos)
    return math.prod(ranges[name] for name in single.engine_axes)


# ---- results that know their sweep ------------------------------------------------------------------

#: Tensor methods that copy or move a result without changing its meaning: they keep the spec.
_KEEPS_SWEEP: frozenset[Callable[..., Any]] = frozenset(
    {torch.Tensor.cpu, torch.Tensor.cuda, torch.Tensor.to, torch.Tensor.clone, torch.Tensor.detach, torch.Tensor.contiguous,
     torch.Tensor.float, torch.Tensor.double, torch.Tensor.requires_grad_}
)


class PatchingResult(torch.Tensor):
    """A patching sweep's result tensor, with the :class:`SweepSpec` that made it as ``.sweep``.

    Moving or copying it (``.cpu()``, ``.to()``, ``.clone()``, ``.detach()``, ...) keeps the
    spec; any other operation returns a plain ``torch.Tensor``, since an indexed, reduced or
    combined result no longer has the sweep's axes.
    """

    sweep: SweepSpec

    @staticmethod
    def wrap(tensor: torch.Tensor, sweep: SweepSpec) -> PatchingResult:
        result = tensor.as_subclass(PatchingResult)
        result.sweep = sweep
        return result

    @property
    def patching_kind(self) -> str:
        """The ``get_act_patch_*`` function that made this result (the name earlier versions set)."""
        return self.sweep.function

    @classmethod
    def __torch_function__(cls, func: Any, types: Iterable[type], args: tuple[Any, ...] = (), kwargs: Optional[dict[str, Any]] = None) -> Any:
        with torch._C.DisableTorchFunctionSubclass():
            out = func(*args, **(kwargs or {}))
        source = args[0] if args else None
        if func in _KEEPS_SWEEP and isinstance(source, PatchingResult) and isinstance(out, torch.Tensor) and out.shape == source.shape:
            return PatchingResult.wrap(out, source.sweep)
        return _plain(out)

    def __deepcopy__(self, memo: dict[int, Any]) -> PatchingResult:
        return PatchingResult.wrap(copy.deepcopy(self.as_subclass(torch.Tensor), memo), self.sweep)

    def __reduce_ex__(self, protocol: Any) -> Any:
        # Pickled (torch.save, multiprocessing) as the plain tensor and the spec's name, so a loaded
        # result's ``.sweep`` is the registry's own entry.
        return (_rebuild, (self.as_subclass(torch.Tensor), self.sweep.name))

    def __repr__(self, *, tensor_contents: Any = None) -> Any:  # type: ignore[override]  # torch stubs spell it oddly
        # The plain tensor's text: printing a result looks as it always did.
        return repr(self.as_subclass(torch.Tensor))


def _rebuild(tensor: torch.Tensor, name: str) -> PatchingResult:
    return PatchingResult.wrap(tensor, SWEEPS[name])


def _plain(value: Any) -> Any:
    if isinstance(value, PatchingResult):
        return value.as_subclass(torch.Tensor)
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(v) for v in value)
    return value
