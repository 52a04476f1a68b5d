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
  ``progress(done, total)`` (patched runs) after each chunk.
- ``cancel=None``: a :class:`CancelToken`; setting it (or Ctrl-C) stops the sweep between chunks
  with no hook left attached, raising :class:`PatchingCancelled` (or ``KeyboardInterrupt``).
- ``approx=False``: ``True`` gives attribution patching, a first-order *approximation* of the same
  grid from one corrupted forward and backward pass (the clean run is the cache you pass):
  ``metric(corrupted) + sum((clean_act - corrupted_act) * grad)`` over the patched slice. It is
  exact only when the metric is linear in the patched activation; otherwise trust it for small
  clean/corrupted differences and check the important entries with exact patching.
"""

from __future__ import annotations

import functools
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
)

__all__ = [
    "CancelToken",
    "PatchingCancelled",
    "generic_activation_patch",
    "get_act_patch_attn_head_all_pos_every",
    "get_act_patch_attn_head_by_pos_every",
    "get_act_patch_attn_head_k_all_pos",
    "get_act_patch_attn_head_k_by_pos",
    "get_act_patch_attn_head_out_all_pos",
    "get_act_patch_attn_head_out_by_pos",
    "get_act_patch_attn_head_pattern_all_pos",
    "get_act_patch_attn_head_pattern_by_pos",
    "get_act_patch_attn_head_pattern_dest_src_pos",
    "get_act_patch_attn_head_q_all_pos",
    "get_act_patch_attn_head_q_by_pos",
    "get_act_patch_attn_head_v_all_pos",
    "get_act_patch_attn_head_v_by_pos",
    "get_act_patch_attn_out",
    "get_act_patch_block_every",
    "get_act_patch_mlp_out",
    "get_act_patch_resid_mid",
    "get_act_patch_resid_pre",
    "layer_head_dest_src_pos_pattern_patch_setter",
    "layer_head_pattern_patch_setter",
    "layer_head_pos_pattern_patch_setter",
    "layer_head_vector_patch_setter",
    "layer_pos_head_vector_patch_setter",
    "layer_pos_patch_setter",
    "make_df_from_ranges",
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


def layer_pos_patch_setter(corrupted_activation, index, clean_activation):
    """Patch ``index = [layer, pos]`` of a ``[batch, pos, ...]`` activation (resid, attn_out, mlp_out)."""
    assert len(index) == 2
    _, pos = index
    corrupted_activation[:, pos, ...] = clean_activation[:, pos, ...]
    return corrupted_activation


def layer_pos_head_vector_patch_setter(corrupted_activation, index, clean_activation):
    """Patch ``index = [layer, pos, head_index]`` of a ``[batch, pos, head_index, d_head]`` activation."""
    assert len(index) == 3
    _, pos, head_index = index
    corrupted_activation[:, pos, head_index] = clean_activation[:, pos, head_index]
    return corrupted_activation


def layer_head_vector_patch_setter(corrupted_activation, index, clean_activation):
    """Patch ``index = [layer, head_index]`` of a ``[batch, pos, head_index, d_head]`` activation, all positions."""
    assert len(index) == 2
    _, head_index = index
    corrupted_activation[:, :, head_index] = clean_activation[:, :, head_index]
    return corrupted_activation


def layer_head_pattern_patch_setter(corrupted_activation, index, clean_activation):
    """Patch ``index = [layer, head_index]`` of a ``[batch, head_index, dest_pos, src_pos]`` pattern."""
    assert len(index) == 2
    _, head_index = index
    corrupted_activation[:, head_index, :, :] = clean_activation[:, head_index, :, :]
    return corrupted_activation


def layer_head_pos_pattern_patch_setter(corrupted_activation, index, clean_activation):
    """Patch ``index = [layer, head_index, dest_pos]`` of a ``[batch, head_index, dest_pos, src_pos]`` pattern."""
    assert len(index) == 3
    _, head_index, dest_pos = index
    corrupted_activation[:, head_index, dest_pos, :] = clean_activation[:, head_index, dest_pos, :]
    return corrupted_activation


def layer_head_dest_src_pos_pattern_patch_setter(corrupted_activation, index, clean_activation):
    """Patch ``index = [layer, head_index, dest_pos, src_pos]``: one entry of each head's pattern."""
    assert len(index) == 4
    _, head_index, dest_pos, src_pos = index
    corrupted_activation[:, head_index, dest_pos, src_pos] = clean_activation[:, head_index, dest_pos, src_pos]
    return corrupted_activation


# What the engine may assume of the built-in setters (they copy the clean slice their index
# selects): the activation dims that slice spans, for attribution patching, and which index
# components are query positions, for sharing the leading positions no patch changes.
_SETTER_TRAITS: dict[Callable, SetterTraits] = {
    layer_pos_patch_setter: SetterTraits(kept_dims=(1,), query_pos_parts=(1,)),
    layer_pos_head_vector_patch_setter: SetterTraits(kept_dims=(1, 2), query_pos_parts=(1,)),
    layer_head_vector_patch_setter: SetterTraits(kept_dims=(2,), query_pos_parts=()),
    layer_head_pattern_patch_setter: SetterTraits(kept_dims=(1,), query_pos_parts=()),
    layer_head_pos_pattern_patch_setter: SetterTraits(kept_dims=(1, 2), query_pos_parts=(2,)),
    layer_head_dest_src_pos_pattern_patch_setter: SetterTraits(kept_dims=(1, 2, 3), query_pos_parts=(2,)),
}


# ---- the generic sweep ----------------------------------------------------------------------


def generic_activation_patch(
    model: Any,
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
    frame = index_df if index_df is not None else make_df_from_ranges(*index_frames[0])
    return result, frame


class _Sweep:
    """One activation, setter and index axes; several sweeps share one engine call."""

    def __init__(self, activation_name: str, setter: PatchSetter, axes: Optional[tuple[str, ...]]) -> None:
        self.activation_name = activation_name
        self.setter = setter
        self.axes = axes

    def axis_ranges(self, model: Any, tokens: torch.Tensor) -> dict[str, int]:
        cfg = model.cfg
        heads = cfg.n_heads
        if self.activation_name in ("k", "v") and cfg.n_key_value_heads is not None:
            heads = cfg.n_key_value_heads
        pos = tokens.shape[-1]
        return {"layer": cfg.n_layers, "pos": pos, "head_index": heads, "head": heads, "src_pos": pos, "dest_pos": pos}


def _run_sweeps(model, tokens, clean_cache, metric, sweeps: Sequence[_Sweep], options: EngineOptions, index_df=None):
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


def _index_rows(model, tokens, sweep: _Sweep, index_df):
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


def _check_index_rows(rows, columns: Sequence[str], ranges: dict[str, int], n_layers: int) -> None:
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


# ---- the specialised sweeps -------------------------------------------------------------------

_SWEEPS: dict[str, _Sweep] = {
    "resid_pre": _Sweep("resid_pre", layer_pos_patch_setter, ("layer", "pos")),
    "resid_mid": _Sweep("resid_mid", layer_pos_patch_setter, ("layer", "pos")),
    "attn_out": _Sweep("attn_out", layer_pos_patch_setter, ("layer", "pos")),
    "mlp_out": _Sweep("mlp_out", layer_pos_patch_setter, ("layer", "pos")),
    "out_by_pos": _Sweep("z", layer_pos_head_vector_patch_setter, ("layer", "pos", "head")),
    "q_by_pos": _Sweep("q", layer_pos_head_vector_patch_setter, ("layer", "pos", "head")),
    "k_by_pos": _Sweep("k", layer_pos_head_vector_patch_setter, ("layer", "pos", "head")),
    "v_by_pos": _Sweep("v", layer_pos_head_vector_patch_setter, ("layer", "pos", "head")),
    "pattern_by_pos": _Sweep("pattern", layer_head_pos_pattern_patch_setter, ("layer", "head_index", "dest_pos")),
    "pattern_dest_src": _Sweep(
        "pattern", layer_head_dest_src_pos_pattern_patch_setter, ("layer", "head_index", "dest_pos", "src_pos")
    ),
    "out_all_pos": _Sweep("z", layer_head_vector_patch_setter, ("layer", "head")),
    "q_all_pos": _Sweep("q", layer_head_vector_patch_setter, ("layer", "head")),
    "k_all_pos": _Sweep("k", layer_head_vector_patch_setter, ("layer", "head")),
    "v_all_pos": _Sweep("v", layer_head_vector_patch_setter, ("layer", "head")),
    "pattern_all_pos": _Sweep("pattern", layer_head_pattern_patch_setter, ("layer", "head_index")),
}


def _specialised(key, model, corrupted_tokens, clean_cache, patching_metric, index_df, return_index_df, options):
    sweep = _SWEEPS[key]
    return generic_activation_patch(
        model,
        corrupted_tokens,
        clean_cache,
        patching_metric,
        sweep.setter,
        sweep.activation_name,
        index_axis_names=None if index_df is not None else sweep.axes,
        index_df=index_df,
        return_index_df=return_index_df,
        **options,
    )


# Each function below takes (model, corrupted_tokens, clean_cache, patching_metric) as upstream,
# plus keyword-only index_df / return_index_df (as generic_activation_patch) and engine options.


def get_act_patch_resid_pre(
    model, corrupted_tokens, clean_cache, patching_metric, *, index_df=None, return_index_df=False, **options
) -> Float[torch.Tensor, "layer pos"]:
    """Patch the residual stream entering each block, per position: ``[n_layers, pos]``."""
    args = (model, corrupted_tokens, clean_cache, patching_metric, index_df, return_index_df)
    return _specialised("resid_pre", *args, options)


def get_act_patch_resid_mid(
    model, corrupted_tokens, clean_cache, patching_metric, *, index_df=None, return_index_df=False, **options
) -> Float[torch.Tensor, "layer pos"]:
    """Patch the residual stream between each block's attention and MLP, per position: ``[n_layers, pos]``."""
    args = (model, corrupted_tokens, clean_cache, patching_metric, index_df, return_index_df)
    return _specialised("resid_mid", *args, options)


def get_act_patch_attn_out(
    model, corrupted_tokens, clean_cache, patching_metric, *, index_df=None, return_index_df=False, **options
) -> Float[torch.Tensor, "layer pos"]:
    """Patch each attention layer's output, per position: ``[n_layers, pos]``."""
    args = (model, corrupted_tokens, clean_cache, patching_metric, index_df, return_index_df)
    return _specialised("attn_out", *args, options)


def get_act_patch_mlp_out(
    model, corrupted_tokens, clean_cache, patching_metric, *, index_df=None, return_index_df=False, **options
) -> Float[torch.Tensor, "layer pos"]:
    """Patch each MLP layer's output, per position: ``[n_layers, pos]``."""
    args = (model, corrupted_tokens, clean_cache, patching_metric, index_df, return_index_df)
    return _specialised("mlp_out", *args, options)


def get_act_patch_attn_head_out_by_pos(
    model, corrupted_tokens, clean_cache, patching_metric, *, index_df=None, return_index_df=False, **options
) -> Float[torch.Tensor, "layer pos head"]:
    """Patch each head's output (``hook_z``) at each position: ``[n_layers, pos, n_heads]``."""
    args = (model, corrupted_tokens, clean_cache, patching_metric, index_df, return_index_df)
    return _specialised("out_by_pos", *args, options)


def get_act_patch_attn_head_q_by_pos(
    model, corrupted_tokens, clean_cache, patching_metric, *, index_df=None, return_index_df=False, **options
) -> Float[torch.Tensor, "layer pos head"]:
    """Patch each head's queries at each position: ``[n_layers, pos, n_heads]``."""
    args = (model, corrupted_tokens, clean_cache, patching_metric, index_df, return_index_df)
    return _specialised("q_by_pos", *args, options)


def get_act_patch_attn_head_k_by_pos(
    model, corrupted_tokens, clean_cache, patching_metric, *, index_df=None, return_index_df=False, **options
) -> Float[torch.Tensor, "layer pos head"]:
    """Patch each head's keys at each position: ``[n_layers, pos, n_heads]`` (``n_key_value_heads`` with GQA)."""
    args = (model, corrupted_tokens, clean_cache, patching_metric, index_df, return_index_df)
    return _specialised("k_by_pos", *args, options)


def get_act_patch_attn_head_v_by_pos(
    model, corrupted_tokens, clean_cache, patching_metric, *, index_df=None, return_index_df=False, **options
) -> Float[torch.Tensor, "layer pos head"]:
    """Patch each head's values at each position: ``[n_layers, pos, n_heads]`` (``n_key_value_heads`` with GQA)."""
    args = (model, corrupted_tokens, clean_cache, patching_metric, index_df, return_index_df)
    return _specialised("v_by_pos", *args, options)


def get_act_patch_attn_head_pattern_by_pos(
    model, corrupted_tokens, clean_cache, patching_metric, *, index_df=None, return_index_df=False, **options
) -> Float[torch.Tensor, "layer head_index dest_pos"]:
    """Patch each head's attention pattern row for each destination position: ``[n_layers, n_heads, dest_pos]``."""
    args = (model, corrupted_tokens, clean_cache, patching_metric, index_df, return_index_df)
    return _specialised("pattern_by_pos", *args, options)


def get_act_patch_attn_head_pattern_dest_src_pos(
    model, corrupted_tokens, clean_cache, patching_metric, *, index_df=None, return_index_df=False, **options
) -> Float[torch.Tensor, "layer head_index dest_pos src_pos"]:
    """Patch each single entry of each head's pattern: ``[n_layers, n_heads, dest_pos, src_pos]``."""
    args = (model, corrupted_tokens, clean_cache, patching_metric, index_df, return_index_df)
    return _specialised("pattern_dest_src", *args, options)


def get_act_patch_attn_head_out_all_pos(
    model, corrupted_tokens, clean_cache, patching_metric, *, index_df=None, return_index_df=False, **options
) -> Float[torch.Tensor, "layer head"]:
    """Patch each head's output (``hook_z``) at every position at once: ``[n_layers, n_heads]``."""
    args = (model, corrupted_tokens, clean_cache, patching_metric, index_df, return_index_df)
    return _specialised("out_all_pos", *args, options)


def get_act_patch_attn_head_q_all_pos(
    model, corrupted_tokens, clean_cache, patching_metric, *, index_df=None, return_index_df=False, **options
) -> Float[torch.Tensor, "layer head"]:
    """Patch each head's queries at every position: ``[n_layers, n_heads]``."""
    args = (model, corrupted_tokens, clean_cache, patching_metric, index_df, return_index_df)
    return _specialised("q_all_pos", *args, options)


def get_act_patch_attn_head_k_all_pos(
    model, corrupted_tokens, clean_cache, patching_metric, *, index_df=None, return_index_df=False, **options
) -> Float[torch.Tensor, "layer head"]:
    """Patch each head's keys at every position: ``[n_layers, n_heads]`` (``n_key_value_heads`` with GQA)."""
    args = (model, corrupted_tokens, clean_cache, patching_metric, index_df, return_index_df)
    return _specialised("k_all_pos", *args, options)


def get_act_patch_attn_head_v_all_pos(
    model, corrupted_tokens, clean_cache, patching_metric, *, index_df=None, return_index_df=False, **options
) -> Float[torch.Tensor, "layer head"]:
    """Patch each head's values at every position: ``[n_layers, n_heads]`` (``n_key_value_heads`` with GQA)."""
    args = (model, corrupted_tokens, clean_cache, patching_metric, index_df, return_index_df)
    return _specialised("v_all_pos", *args, options)


def get_act_patch_attn_head_pattern_all_pos(
    model, corrupted_tokens, clean_cache, patching_metric, *, index_df=None, return_index_df=False, **options
) -> Float[torch.Tensor, "layer head"]:
    """Patch each head's whole attention pattern: ``[n_layers, n_heads]``."""
    args = (model, corrupted_tokens, clean_cache, patching_metric, index_df, return_index_df)
    return _specialised("pattern_all_pos", *args, options)


# ---- several sweeps in one engine call ----------------------------------------------------------


def _every(model, corrupted_tokens, clean_cache, metric, keys: Sequence[str], options: dict) -> list[torch.Tensor]:
    tokens = prepare_tokens(model, corrupted_tokens)
    results, _ = _run_sweeps(model, tokens, clean_cache, metric, [_SWEEPS[k] for k in keys], EngineOptions(**options))
    return results


def _pad_heads(result: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Grouped-query K/V results have n_key_value_heads entries: zero-pad the head axis to n_heads."""
    return F.pad(result, (0, n_heads - result.shape[-1]))


def get_act_patch_attn_head_all_pos_every(
    model, corrupted_tokens, clean_cache, metric, **options
) -> Float[torch.Tensor, "patch_type layer head"]:
    """Patch every head's output, query, key, value and pattern (all positions): ``[5, n_layers, n_heads]``.

    The five components are stacked in the order output (z), query, key, value, pattern.
    """
    keys = ("out_all_pos", "q_all_pos", "k_all_pos", "v_all_pos", "pattern_all_pos")
    out, q, k, v, pattern = _every(model, corrupted_tokens, clean_cache, metric, keys, options)
    n_heads = model.cfg.n_heads
    return torch.stack([out, q, _pad_heads(k, n_heads), _pad_heads(v, n_heads), pattern])


def get_act_patch_attn_head_by_pos_every(
    model, corrupted_tokens, clean_cache, metric, **options
) -> Float[torch.Tensor, "patch_type layer pos head"]:
    """Patch every head's output, query, key, value and pattern per position: ``[5, n_layers, pos, n_heads]``.

    The pattern is patched per destination position; its ``[layer, head, dest_pos]`` result is
    transposed to ``[layer, pos, head]`` to stack with the others.
    """
    keys = ("out_by_pos", "q_by_pos", "k_by_pos", "v_by_pos", "pattern_by_pos")
    out, q, k, v, pattern = _every(model, corrupted_tokens, clean_cache, metric, keys, options)
    n_heads = model.cfg.n_heads
    return torch.stack([out, q, _pad_heads(k, n_heads), _pad_heads(v, n_heads), pattern.transpose(1, 2)])


def get_act_patch_block_every(
    model, corrupted_tokens, clean_cache, metric, **options
) -> Float[torch.Tensor, "patch_type layer pos"]:
    """Patch the residual stream (block input), attention output and MLP output per position: ``[3, n_layers, pos]``."""
    keys = ("resid_pre", "attn_out", "mlp_out")
    return torch.stack(_every(model, corrupted_tokens, clean_cache, metric, keys, options))


def _tag_result(function):
    """Record which sweep made a result (``result.patching_kind``) so displays can label its axes."""

    @functools.wraps(function)
    def tagged(*args, **kwargs):
        result = function(*args, **kwargs)
        tensor = result[0] if isinstance(result, tuple) else result
        if isinstance(tensor, torch.Tensor):
            tensor.patching_kind = function.__name__
        return result

    return tagged


for _name in [name for name in globals() if name.startswith("get_act_patch_")]:
    globals()[_name] = _tag_result(globals()[_name])
del _name
