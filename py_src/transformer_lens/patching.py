"""Activation patching: how much of a clean run's behaviour one activation restores in a corrupted run.

Give the model the corrupted input, replace (patch) one activation with its value from the
clean run, and measure the metric on the output; do that for every layer, position or head.
The API is TransformerLens's ``transformer_lens.patching``: ``generic_activation_patch`` plus a
patch setter per activation shape, and one function per common sweep with the same names,
arguments and result shapes. ``metric`` receives the logits ``[batch, pos, d_vocab]`` of one
patched run of the corrupted batch and returns a scalar tensor.

Beyond upstream, every function takes keyword-only engine options:

- ``sequential=False``: patched runs are stacked along the batch dimension and start at the
  patched block from the corrupted run's residual stream; ``True`` runs one full forward pass per
  patch (``model.run_with_hooks``), the reference the batched path is tested against (agreement
  to float32 rounding, about 1e-6). The batched path also computes once the leading positions no
  patch changes (a prompt start shared by the clean and corrupted inputs), and unembeds only the
  positions the metric provably reads (``logits[:, -1]``: see ``_patch_metric``). The metric is
  called once more on the unpatched corrupted logits to check it before any patched run. Hooks
  already attached to the model run in every patched run, seeing the stacked batch.
- ``batch_size=None`` (patched runs per forward pass) or ``max_memory_mb=None`` to size them: the
  megabytes one chunk of stacked runs may use for its activations and logits (estimated from the
  config), 1024 by default and never more than the memory free on the model's device (CUDA or
  CPU alike; docs/scaling.md). ``max_batch_memory_mb`` is the older name of the same budget.
- ``progress=True``: a ``tqdm.auto`` progress bar; ``False`` for none; or a callable, called as
  ``progress(done, total)`` (patched runs) after each chunk. Inside
  ``with patching.shared_progress_bar():`` every such sweep adds to one bar instead.
- ``cancel=None``: a :class:`CancelToken`; setting it (or Ctrl-C) stops the sweep between chunks
  with no hook left attached, raising :class:`PatchingCancelled` (or ``KeyboardInterrupt``).
- ``approx=False``: ``True`` gives attribution patching, a first-order *approximation* of the same
  grid from one corrupted forward and backward pass (the clean run is the cache you pass):
  ``metric(corrupted) + sum((clean_act - corrupted_act) * grad)`` over the patched slice. It is
  exact only when the metric is linear in the patched activation; otherwise trust it for small
  clean/corrupted differences and check the important entries with exact patching.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Callable, Literal, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int

from transformer_lens import hook_names
from transformer_lens._patch_engine import (
    DEFAULT_MAX_BATCH_MEMORY_MB,
    CancelToken,
    EngineOptions,
    PatchingCancelled,
    PatchRun,
    SetterTraits,
    patch,
    prepare_tokens,
    shared_progress_bar,
)
from transformer_lens.hooked_model import HookedModel
from transformer_lens.sweeps import SWEEPS, PatchingResult, SweepSpec, axis_ranges

__all__ = [
    "CancelToken",
    "PatchingCancelled",
    "generic_activation_patch",
    "layer_head_dest_src_pos_pattern_patch_setter",
    "layer_head_pattern_patch_setter",
    "layer_head_pos_pattern_patch_setter",
    "layer_head_vector_patch_setter",
    "layer_pos_head_vector_patch_setter",
    "layer_pos_patch_setter",
    "make_df_from_ranges",
    "shared_progress_bar",
    # and every registry entry's get_act_patch_* function, added where they are built (below)
]

Logits = torch.Tensor
AxisNames = Literal["layer", "pos", "head_index", "head", "src_pos", "dest_pos"]
AXIS_NAMES: tuple[str, ...] = ("layer", "pos", "head_index", "head", "src_pos", "dest_pos")
PatchingMetric = Callable[[Float[torch.Tensor, "batch pos d_vocab"]], Float[torch.Tensor, ""]]
CorruptedActivation = torch.Tensor
PatchedActivation = torch.Tensor
PatchSetter = Callable[[CorruptedActivation, Sequence[int], torch.Tensor], PatchedActivation]


def make_df_from_ranges(column_max_ranges: Sequence[int], column_names: Sequence[str]) -> Any:
    """A pandas DataFrame of every index tuple, ``range(max)`` per column, last column fastest."""
    pd = _pandas()
    return pd.DataFrame(list(itertools.product(*(range(n) for n in column_max_ranges))), columns=list(column_names))


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("index data frames need pandas: pip install pandas") from error
    return pandas


# ---- patch setters: edit the corrupted activation in place and return it --------------------


def layer_pos_patch_setter(
    corrupted_activation: torch.Tensor, index: Sequence[int], clean_activation: torch.Tensor
) -> torch.Tensor:
    """Patch ``index = [layer, pos]`` of a ``[batch, pos, ...]`` activation (resid, attn_out, mlp_out)."""
    assert len(index) == 2
    _, pos = index
    corrupted_activation[:, pos, ...] = clean_activation[:, pos, ...]
    return corrupted_activation


def layer_pos_head_vector_patch_setter(
    corrupted_activation: torch.Tensor, index: Sequence[int], clean_activation: torch.Tensor
) -> torch.Tensor:
    """Patch ``index = [layer, pos, head_index]`` of a ``[batch, pos, head_index, d_head]`` activation."""
    assert len(index) == 3
    _, pos, head_index = index
    corrupted_activation[:, pos, head_index] = clean_activation[:, pos, head_index]
    return corrupted_activation


def layer_head_vector_patch_setter(
    corrupted_activation: torch.Tensor, index: Sequence[int], clean_activation: torch.Tensor
) -> torch.Tensor:
    """Patch ``index = [layer, head_index]`` of a ``[batch, pos, head_index, d_head]`` activation, all positions."""
    assert len(index) == 2
    _, head_index = index
    corrupted_activation[:, :, head_index] = clean_activation[:, :, head_index]
    return corrupted_activation


def layer_head_pattern_patch_setter(
    corrupted_activation: torch.Tensor, index: Sequence[int], clean_activation: torch.Tensor
) -> torch.Tensor:
    """Patch ``index = [layer, head_index]`` of a ``[batch, head_index, dest_pos, src_pos]`` pattern."""
    assert len(index) == 2
    _, head_index = index
    corrupted_activation[:, head_index, :, :] = clean_activation[:, head_index, :, :]
    return corrupted_activation


def layer_head_pos_pattern_patch_setter(
    corrupted_activation: torch.Tensor, index: Sequence[int], clean_activation: torch.Tensor
) -> torch.Tensor:
    """Patch ``index = [layer, head_index, dest_pos]`` of a ``[batch, head_index, dest_pos, src_pos]`` pattern."""
    assert len(index) == 3
    _, head_index, dest_pos = index
    corrupted_activation[:, head_index, dest_pos, :] = clean_activation[:, head_index, dest_pos, :]
    return corrupted_activation


def layer_head_dest_src_pos_pattern_patch_setter(
    corrupted_activation: torch.Tensor, index: Sequence[int], clean_activation: torch.Tensor
) -> torch.Tensor:
    """Patch ``index = [layer, head_index, dest_pos, src_pos]``: one entry of each head's pattern."""
    assert len(index) == 4
    _, head_index, dest_pos, src_pos = index
    corrupted_activation[:, head_index, dest_pos, src_pos] = clean_activation[:, head_index, dest_pos, src_pos]
    return corrupted_activation


# What the engine may assume of the built-in setters (they copy the clean slice their index
# selects): the activation dims that slice spans, for attribution patching, and which index
# components are query positions, for sharing the leading positions no patch changes.
_SETTER_TRAITS: dict[Callable[..., Any], SetterTraits] = {
    layer_pos_patch_setter: SetterTraits(kept_dims=(1,), query_pos_parts=(1,)),
    layer_pos_head_vector_patch_setter: SetterTraits(kept_dims=(1, 2), query_pos_parts=(1,)),
    layer_head_vector_patch_setter: SetterTraits(kept_dims=(2,), query_pos_parts=()),
    layer_head_pattern_patch_setter: SetterTraits(kept_dims=(1,), query_pos_parts=()),
    layer_head_pos_pattern_patch_setter: SetterTraits(kept_dims=(1, 2), query_pos_parts=(2,)),
    layer_head_dest_src_pos_pattern_patch_setter: SetterTraits(kept_dims=(1, 2, 3), query_pos_parts=(2,)),
}


# ---- the generic sweep ----------------------------------------------------------------------


def generic_activation_patch(
    model: HookedModel,
    corrupted_tokens: Int[torch.Tensor, "batch pos"],
    clean_cache: Any,
    patching_metric: PatchingMetric,
    patch_setter: PatchSetter,
    activation_name: str,
    index_axis_names: Optional[Sequence[AxisNames]] = None,
    index_df: Any = None,
    return_index_df: bool = False,
    *,
    sequential: bool = False,
    batch_size: Optional[int] = None,
    max_batch_memory_mb: Optional[float] = None,
    progress: Union[bool, Callable[[int, int], None]] = True,
    cancel: Any = None,
    approx: bool = False,
    max_memory_mb: Optional[float] = None,
) -> Union[torch.Tensor, tuple[torch.Tensor, Any]]:
    """Patch each index tuple in turn and return the metric of every patched run.

    The indices are every combination of ``index_axis_names`` (ranges from the model config and
    the token length; the result has one dimension per axis) or the rows of ``index_df`` (a
    pandas DataFrame whose first column is the layer; the result is flat, one entry per row).
    Each run patches ``get_act_name(activation_name, layer)`` with
    ``patch_setter(corrupted_activation, index, clean_activation)``.

    Args:
        model: The HookedTransformer.
        corrupted_tokens: Tokens of the corrupted run, ``[batch, pos]``.
        clean_cache: Activations of the clean run (an ActivationCache or a dict by hook name).
        patching_metric: Logits of one patched run ``[batch, pos, d_vocab]`` -> scalar tensor.
        patch_setter: Edits the corrupted activation to patch in the clean slice at ``index``.
        activation_name: Short hook name such as ``"resid_pre"``, ``"z"`` or ``"pattern"``.
        index_axis_names: Axes to sweep, from ``"layer", "pos", "head_index", "head", "src_pos", "dest_pos"``.
        index_df: Explicit index tuples instead of ``index_axis_names``.
        return_index_df: Also return the index DataFrame (needs pandas).
        sequential, batch_size, max_memory_mb (alias max_batch_memory_mb), progress, cancel, approx: Engine options,
            see the module docstring.

    Returns:
        The metric per patch (float32, on the model's device), and the index DataFrame if asked.
    """
    tokens = prepare_tokens(model, corrupted_tokens)
    options = EngineOptions(sequential, batch_size, max_batch_memory_mb, progress, cancel, approx, max_memory_mb)
    sweep = _Sweep(activation_name, patch_setter, tuple(index_axis_names) if index_axis_names is not None else None)
    (result,), index_frames = _run_sweeps(model, tokens, clean_cache, patching_metric, [sweep], options, index_df)
    if not return_index_df:
        return result
    frame: Any = index_df if index_df is not None else make_df_from_ranges(*index_frames[0])
    return result, frame


class _Sweep:
    """One activation, setter and index axes; several sweeps share one engine call."""

    def __init__(self, activation_name: str, setter: PatchSetter, axes: Optional[tuple[str, ...]]) -> None:
        self.activation_name = activation_name
        self.setter = setter
        self.axes = axes

    def axis_ranges(self, model: HookedModel, tokens: torch.Tensor) -> dict[str, int]:
        return axis_ranges(model.cfg, self.activation_name, tokens.shape[-1])


def _run_sweeps(
    model: HookedModel,
    tokens: torch.Tensor,
    clean_cache: Any,
    metric: PatchingMetric,
    sweeps: Sequence[_Sweep],
    options: EngineOptions,
    index_df: Any = None,
) -> tuple[list[torch.Tensor], list[tuple[list[int], list[str]]]]:
    """Build every sweep's runs, execute them in one engine call, and split the results."""
    runs: list[PatchRun] = []
    shapes: list[Optional[tuple[int, ...]]] = []
    frames: list[tuple[list[int], list[str]]] = []
    for sweep in sweeps:
        rows, shape, frame = _index_rows(model, tokens, sweep, index_df)
        shapes.append(shape)
        frames.append(frame)
        traits = _SETTER_TRAITS.get(sweep.setter)
        runs.extend(
            PatchRun(hook_names.get_act_name(sweep.activation_name, row[0]), sweep.setter, row, traits) for row in rows
        )
    flat = patch(model, tokens, clean_cache, metric, runs, options)
    results, first = [], 0
    for shape in shapes:
        size = len(flat) - first if shape is None else math.prod(shape)
        piece = flat[first : first + size]
        results.append(piece if shape is None else piece.reshape(shape))
        first += size
    return results, frames


def _index_rows(
    model: HookedModel, tokens: torch.Tensor, sweep: _Sweep, index_df: Any
) -> tuple[list[tuple[int, ...]], Optional[tuple[int, ...]], tuple[list[int], list[str]]]:
    """Index tuples, the result shape (None when flat) and ``(ranges, names)`` for the DataFrame."""
    ranges = sweep.axis_ranges(model, tokens)
    if index_df is not None:
        if sweep.axes is not None:
            raise ValueError("pass either index_axis_names or index_df, not both")
        columns = [str(c) for c in index_df.columns]
        rows = [tuple(row) for row in index_df.itertuples(index=False, name=None)]
        _check_index_rows(rows, columns, ranges, model.cfg.n_layers)
        return rows, None, ([], columns)
    if sweep.axes is None:
        raise ValueError("generic_activation_patch needs index_axis_names or index_df")
    unknown = [axis for axis in sweep.axes if axis not in ranges]
    if unknown:
        raise ValueError(f"unknown index axis {unknown[0]!r}; valid axes are {AXIS_NAMES}")
    if not sweep.axes or sweep.axes[0] != "layer":
        raise ValueError(f"the first index axis must be 'layer', got {list(sweep.axes)}")
    maxima = [ranges[axis] for axis in sweep.axes]
    rows = list(itertools.product(*(range(n) for n in maxima)))
    return rows, tuple(maxima), (maxima, list(sweep.axes))


def _check_index_rows(rows: list[tuple[Any, ...]], columns: Sequence[str], ranges: dict[str, int], n_layers: int) -> None:
    for number, row in enumerate(rows):
        for column, value in zip(columns, row):
            if isinstance(value, bool) or not float(value).is_integer():
                raise ValueError(f"index_df row {number}: {column} = {value!r} is not an integer index")
            limit = n_layers if column == columns[0] else ranges.get(column)
            if value < 0 or (limit is not None and value >= limit):
                bound = f"[0, {limit})" if limit is not None else "non-negative"
                raise ValueError(f"index_df row {number}: {column} = {value} is out of range, must be {bound}")
    for number, row in enumerate(rows):
        rows[number] = tuple(int(v) for v in row)


# ---- the specialised sweeps: one function per registry entry (transformer_lens.sweeps) ------------

_SETTERS: dict[str, PatchSetter] = {
    setter.__name__: setter
    for setter in (
        layer_pos_patch_setter,
        layer_pos_head_vector_patch_setter,
        layer_head_vector_patch_setter,
        layer_head_pattern_patch_setter,
        layer_head_pos_pattern_patch_setter,
        layer_head_dest_src_pos_pattern_patch_setter,
    )
}


def _engine_sweep(spec: SweepSpec) -> _Sweep:
    return _Sweep(spec.activation, _SETTERS[spec.setter], spec.engine_axes)


def _run_single(
    spec: SweepSpec,
    model: HookedModel,
    corrupted_tokens: torch.Tensor,
    clean_cache: Any,
    patching_metric: PatchingMetric,
    index_df: Any,
    return_index_df: bool,
    options: dict[str, Any],
) -> Union[torch.Tensor, tuple[torch.Tensor, Any]]:
    sweep = _engine_sweep(spec)
    result = generic_activation_patch(
        model,
        corrupted_tokens,
        clean_cache,
        patching_metric,
        sweep.setter,
        sweep.activation_name,
        index_axis_names=None if index_df is not None else spec.engine_axes,  # type: ignore[arg-type]  # registry axes are AxisNames
        index_df=index_df,
        return_index_df=return_index_df,
        **options,
    )
    if index_df is not None:
        return result  # flat, one entry per row: not the sweep's axes
    if isinstance(result, tuple):
        return PatchingResult.wrap(result[0], spec), result[1]
    return PatchingResult.wrap(result, spec)


def _run_combined(
    spec: SweepSpec, model: HookedModel, corrupted_tokens: torch.Tensor, clean_cache: Any, metric: PatchingMetric, options: dict[str, Any]
) -> PatchingResult:
    tokens = prepare_tokens(model, corrupted_tokens)
    parts = spec.singles()
    results, _ = _run_sweeps(model, tokens, clean_cache, metric, [_engine_sweep(p) for p in parts], EngineOptions(**options))
    roles = spec.roles[1:]  # after the component axis
    n_heads = model.cfg.n_heads
    stacked = []
    for part, result in zip(parts, results):
        result = result.permute([part.roles.index(role) for role in roles])
        if "head" in roles:  # grouped-query K/V have n_key_value_heads entries: zero-pad to n_heads
            axis = roles.index("head")
            result = F.pad(result.movedim(axis, -1), (0, n_heads - result.shape[axis])).movedim(-1, axis)
        stacked.append(result)
    return PatchingResult.wrap(torch.stack(stacked), spec)


def _shape_text(spec: SweepSpec) -> str:
    sizes = {"layer": "n_layers", "pos": "pos", "head": "n_heads", "head_index": "n_heads", "dest_pos": "dest_pos", "src_pos": "src_pos"}
    return ", ".join(str(len(spec.components)) if a.name == "component" else sizes[a.name] for a in spec.axes)


def _sweep_function(spec: SweepSpec) -> Callable[..., Any]:
    """The ``get_act_patch_*`` function of one registry entry, with upstream's signature."""
    function: Callable[..., Any]
    if spec.is_combined:

        def combined(
            model: HookedModel, corrupted_tokens: torch.Tensor, clean_cache: Any, metric: PatchingMetric, **options: Any
        ) -> PatchingResult:
            return _run_combined(spec, model, corrupted_tokens, clean_cache, metric, options)

        function = combined
        extra = f" Components: {', '.join(spec.components)}."
    else:

        def single(
            model: HookedModel,
            corrupted_tokens: torch.Tensor,
            clean_cache: Any,
            patching_metric: PatchingMetric,
            *,
            index_df: Any = None,
            return_index_df: bool = False,
            **options: Any,
        ) -> Union[torch.Tensor, tuple[torch.Tensor, Any]]:
            return _run_single(spec, model, corrupted_tokens, clean_cache, patching_metric, index_df, return_index_df, options)

        function = single
        extra = " With ``index_df``, the flat metric per row."
    function.__name__ = function.__qualname__ = spec.function
    function.__doc__ = (
        f"{spec.doc}: ``[{_shape_text(spec)}]``.{extra}\n\n"
        f"Takes (model, corrupted_tokens, clean_cache, metric) as upstream, plus the engine options of\n"
        f"``generic_activation_patch``. Returns a :class:`~transformer_lens.sweeps.PatchingResult` (a tensor\n"
        f"whose ``.sweep`` is the registry entry ``{spec.name!r}``).\n"
    )
    return function


for _spec in SWEEPS.values():
    globals()[_spec.function] = _sweep_function(_spec)
    __all__.append(_spec.function)
del _spec
