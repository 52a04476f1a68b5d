"""The runner behind ``transformer_lens.patching``: many patched runs per forward pass.

A patched run is "the corrupted input, with one activation slice replaced by the clean one".
Everything before the patched hook is the unpatched corrupted run, so each run starts at its
block from the corrupted run's cached ``hook_resid_pre`` (``model(resid, start_at_layer=L)``).
Runs are stacked along the batch dimension: K runs of a batch of B prompts make K*B rows, and
a hook at each patched hook point edits only its own runs' rows. A chunk (a group of runs that
fits the memory budget) is one growing forward pass: the runs that start at the lowest layer
go first, and at each later start layer the new runs' rows are appended, so no run recomputes
a layer it shares with the corrupted run. The user's metric then sees each run's logits
``[B, pos, d_vocab]`` on its own, exactly as in one-forward-per-patch patching.

``sequential=True`` keeps that one-forward-per-patch path (``model.run_with_hooks``) as the
reference; ``approx=True`` is attribution patching, a first-order estimate from one corrupted
forward and backward pass.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import torch
from tqdm.auto import tqdm

from transformer_lens import hook_names
from transformer_lens._patch_attribution import attribution_estimates
from transformer_lens._patch_metric import metric_value, read_positions
from transformer_lens.kv_cache import HookedTransformerKeyValueCache, KeyValueCacheEntry

DEFAULT_MAX_BATCH_MEMORY_MB = 1024.0
# A position whose clean and corrupted activations agree this closely (relative to the largest
# entry) is the same position of the same prefix, computed by different kernels: the clean cache
# (every hook on) takes the explicit attention path, a plain forward the fused one, so identical
# prefixes still differ by float32 noise (about 1e-6).
SAME_POSITION_RTOL = 1e-4
_POS_DIMS = ("pos", "query_pos", "key_pos")

Metric = Callable[[torch.Tensor], torch.Tensor]
PatchSetter = Callable[[torch.Tensor, Sequence[int], torch.Tensor], Optional[torch.Tensor]]


class CancelToken:
    """A flag a caller (another thread, the JupyterLab sidebar) sets to stop a sweep.

    The sweep checks it between chunks of patched runs and raises ``PatchingCancelled``.
    Any object with a truthy ``cancelled`` attribute works the same way.
    """

    def __init__(self) -> None:
        self._event = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        self._event.set()

    def __repr__(self) -> str:
        return f"CancelToken(cancelled={self.cancelled})"


class PatchingCancelled(RuntimeError):
    """A sweep stopped by its cancel token; ``partial_results`` holds what was done (NaN elsewhere)."""

    def __init__(self, completed: int, total: int, partial_results: torch.Tensor) -> None:
        super().__init__(f"activation patching cancelled after {completed} of {total} patched runs")
        self.completed = completed
        self.total = total
        self.partial_results = partial_results


@dataclass(frozen=True)
class SetterTraits:
    """What the engine may assume of a built-in setter: it copies the clean slice its index selects.

    ``kept_dims``: the activation dimensions the index (after the layer) selects, in order.
    ``query_pos_parts``: the index components that are (query) positions.
    """

    kept_dims: tuple[int, ...]
    query_pos_parts: tuple[int, ...]


@dataclass(frozen=True)
class PatchRun:
    """One patched run: ``setter(corrupted_act, index, clean_act)`` at ``hook_name``."""

    hook_name: str
    setter: PatchSetter
    index: tuple[int, ...]
    traits: Optional[SetterTraits] = None  # None for a caller's own setter: assume nothing

    @property
    def start(self) -> int:
        """The block the run starts at: the one its hook point is in."""
        layer = hook_names.layer_of(self.hook_name)
        if layer is None:
            raise ValueError(f"activation patching needs hook points inside a block, got {self.hook_name!r}")
        return layer


@dataclass(frozen=True)
class EngineOptions:
    sequential: bool = False
    batch_size: Optional[int] = None
    max_batch_memory_mb: float = DEFAULT_MAX_BATCH_MEMORY_MB
    progress: Any = True  # bool, or a callable(done, total)
    cancel: Any = None
    approx: bool = False


# ---- input checks (all before any patched forward) ----------------------------------------


def prepare_tokens(model: Any, corrupted_tokens: Any) -> torch.Tensor:
    """``corrupted_tokens`` as a ``[batch, pos]`` integer tensor on the model's device."""
    if not isinstance(corrupted_tokens, torch.Tensor):
        raise TypeError(f"corrupted_tokens must be a token tensor [batch, pos], got {type(corrupted_tokens).__name__}")
    if corrupted_tokens.dtype.is_floating_point or corrupted_tokens.dtype == torch.bool:
        raise TypeError(f"corrupted_tokens must hold integer token ids, got dtype {corrupted_tokens.dtype}")
    tokens = corrupted_tokens.unsqueeze(0) if corrupted_tokens.ndim == 1 else corrupted_tokens
    if tokens.ndim != 2:
        raise ValueError(f"corrupted_tokens must have shape [batch, pos], got {tuple(corrupted_tokens.shape)}")
    return tokens.to(model.W_E.device)


def clean_activations(
    model: Any, clean_cache: Any, names: Sequence[str], tokens: torch.Tensor
) -> dict[str, torch.Tensor]:
    """The clean activations the runs need, checked against the model and the corrupted shape."""
    unknown = [name for name in names if name not in model.hook_dict]
    if unknown:
        raise KeyError(hook_names.unknown_hook_message(unknown[0], model.hook_dict))
    if not getattr(clean_cache, "has_batch_dim", True):
        raise ValueError("clean_cache was made with remove_batch_dim=True; patching needs the batch dimension")
    missing = [name for name in names if name not in clean_cache]
    if missing:
        raise KeyError(f"clean_cache is missing {len(missing)} hook name(s) this patch needs: {missing}")
    device = tokens.device
    acts = {}
    for name in names:
        act = clean_cache[name]
        if not isinstance(act, torch.Tensor):
            raise TypeError(f"clean_cache[{name!r}] must be a tensor, got {type(act).__name__}")
        _check_clean_shape(name, act, tokens)
        acts[name] = act.to(device)
    return acts


def _check_clean_shape(name: str, act: torch.Tensor, tokens: torch.Tensor) -> None:
    spec = hook_names.spec_for(name)
    if spec is None or act.ndim != len(spec.shape):
        return
    batch, pos = tokens.shape
    clean_batch = act.shape[spec.shape.index("batch")] if "batch" in spec.shape else batch
    clean_pos = [act.shape[i] for i, dim in enumerate(spec.shape) if dim in _POS_DIMS]
    if clean_batch in (1, batch) and all(p == pos for p in clean_pos):
        return
    clean_shape = (clean_batch, clean_pos[0] if clean_pos else pos)
    raise ValueError(
        f"clean and corrupted inputs differ in shape: the clean run has [batch, pos] = {clean_shape} "
        f"(clean_cache[{name!r}] has shape {tuple(act.shape)}, [{', '.join(spec.shape)}]) but corrupted_tokens "
        f"has shape {tuple(tokens.shape)}; patching needs the same number of positions "
        "(and the same batch, or a clean batch of 1)"
    )


# ---- exact patching -----------------------------------------------------------------------


def patch(
    model: Any,
    tokens: torch.Tensor,
    clean_cache: Any,
    metric: Metric,
    runs: Sequence[PatchRun],
    options: EngineOptions,
) -> torch.Tensor:
    """The metric after each run, ``[len(runs)]`` float32 on the model's device."""
    if not callable(metric):
        raise TypeError(f"patching_metric must be callable, got {type(metric).__name__}")
    names = sorted({run.hook_name for run in runs})
    clean = clean_activations(model, clean_cache, names, tokens)
    if options.approx:
        return attribution_estimates(model, tokens, clean, metric, runs)
    with torch.no_grad():
        share = not options.sequential and _can_share_prefix(model, runs)
        corrupted = _corrupted_run(model, tokens, runs, clean, share)
        corrupted.metric = metric_value(metric, corrupted.logits)  # a bad metric fails before any patched run
        values: list[Optional[torch.Tensor]] = [None] * len(runs)
        bar = _ProgressBar(options.progress, len(runs))
        try:
            if options.sequential:
                _sequential(model, tokens, clean, metric, runs, values, bar, options.cancel)
            else:
                _batched(model, tokens, clean, metric, runs, values, bar, options, corrupted)
        finally:
            bar.close()
    return _collect(values, tokens.device)


@dataclass
class _Corrupted:
    """What the patched runs reuse from the unpatched corrupted run."""

    logits: torch.Tensor
    resid_pre: dict[int, torch.Tensor]  # by the layers runs start at
    keys: dict[int, torch.Tensor]  # by layer, as the attention's KV cache stores them
    values: dict[int, torch.Tensor]
    final_resid: Optional[torch.Tensor] = None  # leaving the last block
    shared: int = 0  # leading positions every patched run leaves as they are
    metric: Optional[torch.Tensor] = None


def _can_share_prefix(model: Any, runs: Sequence[PatchRun]) -> bool:
    """Leading positions can be shared when the setters only copy clean slices, attention is
    causal, and no hook of the caller's sees the shortened activations."""
    return (
        model.cfg.attention_dir == "causal"
        and all(run.traits is not None for run in runs)
        and all(_query_pos_dim(run.hook_name) is not None for run in runs)
        and not _user_hooks(model)
    )


def _query_pos_dim(name: str) -> Optional[int]:
    spec = hook_names.spec_for(name)
    if spec is None:
        return None
    return next((i for i, dim in enumerate(spec.shape) if dim in ("pos", "query_pos")), None)


def _corrupted_run(model, tokens, runs: Sequence[PatchRun], clean: dict[str, torch.Tensor], share: bool) -> _Corrupted:
    """Run the corrupted input once, keeping each start layer's resid_pre and, when sharing, the
    keys and values and the first position where any patched activation differs from the clean one."""
    starts = sorted({run.start for run in runs})
    corrupted = _Corrupted(logits=torch.empty(0), resid_pre={}, keys={}, values={})
    first_difference = [tokens.shape[1]]

    def save_resid(resid: torch.Tensor, hook: Any) -> None:
        corrupted.resid_pre[hook_names.layer_of(hook.name)] = resid

    def save_kv(store: dict[int, torch.Tensor]):
        def save(act: torch.Tensor, hook: Any) -> None:
            store[hook_names.layer_of(hook.name)] = act

        return save

    def save_final(resid: torch.Tensor, hook: Any) -> None:
        corrupted.final_resid = resid

    def compare(act: torch.Tensor, hook: Any) -> None:
        pos_dim = _query_pos_dim(hook.name)

        def per_position_max(x: torch.Tensor) -> torch.Tensor:
            return x.movedim(pos_dim, 0).reshape(x.shape[pos_dim], -1).amax(dim=1)

        gap = per_position_max((act - clean[hook.name]).abs())
        same = gap <= SAME_POSITION_RTOL * per_position_max(act.abs())  # False for NaN
        where = (~same).nonzero()
        if len(where):
            first_difference.append(int(where[0, 0]))

    hooks = [(hook_names.get_act_name("resid_pre", layer), save_resid) for layer in starts]
    if share:
        key_name = "rot_k" if model.cfg.positional_embedding_type == "rotary" else "k"
        for layer in range(starts[0], model.cfg.n_layers):
            hooks.append((hook_names.get_act_name(key_name, layer), save_kv(corrupted.keys)))
            hooks.append((hook_names.get_act_name("v", layer), save_kv(corrupted.values)))
        hooks.extend((name, compare) for name in clean)
        hooks.append((hook_names.get_act_name("resid_post", model.cfg.n_layers - 1), save_final))
    with model.hooks(fwd_hooks=hooks):
        corrupted.logits = model(tokens)
    corrupted.shared = min(first_difference) if share else 0
    return corrupted


class _ProgressBar:
    """``progress=True``: a tqdm.auto bar; a callable: ``progress(done, total)`` after each step."""

    def __init__(self, progress: Any, total: int) -> None:
        self.callback = progress if callable(progress) else None
        self.done, self.total = 0, total
        self.bar = None
        if self.callback is None:
            self.bar = tqdm(total=total, disable=not progress, desc="activation patching", unit="run")

    def update(self, n: int) -> None:
        if n <= 0:
            return
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        else:
            self.callback(self.done, self.total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _check_cancel(cancel: Any, values: Sequence[Optional[torch.Tensor]], device: torch.device) -> None:
    if cancel is not None and getattr(cancel, "cancelled", False):
        done = sum(v is not None for v in values)
        raise PatchingCancelled(done, len(values), _collect(values, device, fill=float("nan")))


def _collect(values: Sequence[Optional[torch.Tensor]], device: torch.device, fill: float = 0.0) -> torch.Tensor:
    out = torch.full((len(values),), fill, dtype=torch.float32, device=device)
    done = [i for i, v in enumerate(values) if v is not None]
    if done:
        out[done] = torch.stack([values[i].to(device) for i in done])  # type: ignore[union-attr]
    return out


def _sequential(model, tokens, clean, metric, runs, values, bar, cancel) -> None:
    for i, run in enumerate(runs):
        _check_cancel(cancel, values, tokens.device)

        def hook(act: torch.Tensor, hook: Any, run: PatchRun = run) -> Optional[torch.Tensor]:
            if act.requires_grad:
                act = act.clone()
            return apply_setter(run, act, list(run.index), clean[run.hook_name])

        logits = model.run_with_hooks(tokens, fwd_hooks=[(run.hook_name, hook)])
        values[i] = metric_value(metric, logits)
        bar.update(1)


def runs_per_chunk(
    cfg: Any,
    batch: int,
    pos: int,
    max_batch_memory_mb: float,
    block_pos: Optional[int] = None,
    logit_pos: Optional[int] = None,
) -> int:
    """How many patched runs fit one forward pass within the memory budget.

    Per run, at the widest points: for each position the blocks compute (``block_pos``), the MLP
    hidden activations, a handful of residual-sized tensors and, for a pattern patch, every head's
    explicit scores and pattern; for each position unembedded (``logit_pos``), the logits.
    """
    block_pos = pos if block_pos is None else block_pos
    logit_pos = pos if logit_pos is None else logit_pos
    block_floats = block_pos * (2 * (cfg.d_mlp or 0) + 6 * cfg.d_model + 3 * cfg.n_heads * pos)
    floats = block_floats + pos * cfg.d_model + logit_pos * cfg.d_vocab
    bytes_per_run = batch * floats * torch.finfo(cfg.dtype).bits // 8
    return max(1, int(max_batch_memory_mb * 2**20 // bytes_per_run))


def _batched(model, tokens, clean, metric, runs, values, bar, options: EngineOptions, corrupted: _Corrupted) -> None:
    batch, pos = tokens.shape
    shared = corrupted.shared
    todo = []
    for i, run in enumerate(runs):
        if run.traits is not None and _within_shared(run, shared, pos):
            values[i] = corrupted.metric  # it copies a clean slice equal to the corrupted one
        else:
            todo.append(i)
    bar.update(len(runs) - len(todo))
    own_hooks_only = not _user_hooks(model)
    positions = read_positions(metric, pos) if own_hooks_only and todo else None
    per_chunk = options.batch_size or runs_per_chunk(
        model.cfg, batch, pos, options.max_batch_memory_mb, pos - shared, len(positions or range(pos))
    )
    if per_chunk < 1:
        raise ValueError(f"batch_size must be a positive number of runs, got {per_chunk}")
    clean = {name: _drop_positions(name, act, shared) for name, act in clean.items()}
    todo.sort(key=lambda i: runs[i].start)
    unembed = lambda final: model(final, start_at_layer=model.cfg.n_layers)  # noqa: E731
    for first in range(0, len(todo), per_chunk):
        _check_cancel(options.cancel, values, tokens.device)
        chunk = todo[first : first + per_chunk]
        final = _run_chunk(model, tokens, clean, [runs[i] for i in chunk], corrupted)
        if positions is not None and first == 0:
            # A run-time check of the read-positions proof on the first run, against all positions.
            values[chunk[0]] = metric_value(metric, unembed(final[:batch]))
            partial = metric_value(metric, _metric_input(unembed(final[:batch, positions]), positions, pos))
            if not torch.isclose(values[chunk[0]], partial, rtol=1e-4, atol=1e-5):
                positions = None  # the proof did not hold up: all positions
        logits = unembed(final if positions is None else final[:, positions])
        del final
        for k, i in enumerate(chunk):
            if values[i] is None:
                values[i] = metric_value(metric, _metric_input(logits[k * batch : (k + 1) * batch], positions, pos))
        del logits
        bar.update(len(chunk))


def apply_setter(run: PatchRun, act: torch.Tensor, index: Sequence[int], clean_act: torch.Tensor) -> torch.Tensor:
    """The patched activation: the setter's return value, or ``act`` (edited in place) for None.

    A value of another shape or dtype raises: copied back into the stacked runs it would
    broadcast silently (``act[:, :1]`` gives a constant grid).
    """
    out = run.setter(act, index, clean_act)
    if out is None or out is act:
        return act
    if isinstance(out, torch.Tensor) and out.shape == act.shape and out.dtype == act.dtype:
        return out
    got = f"shape {tuple(out.shape)}, dtype {out.dtype}" if isinstance(out, torch.Tensor) else f"a {type(out).__name__}"
    raise ValueError(
        f"patch_setter for {run.hook_name!r} at index {list(index)} returned {got}; expected the corrupted activation's "
        f"shape {tuple(act.shape)}, dtype {act.dtype} (edit it in place and return it, or return None)"
    )


def _within_shared(run: PatchRun, shared: int, pos: int) -> bool:
    """Whether the run only patches shared positions (so it changes nothing)."""
    assert run.traits is not None
    parts = run.traits.query_pos_parts
    return any(run.index[part] < shared for part in parts) if parts else shared == pos


def _user_hooks(model: Any) -> bool:
    return any(hp.fwd_hooks or hp.bwd_hooks for hp in model.hook_points())


def _metric_input(logits: torch.Tensor, positions: Optional[list[int]], pos: int) -> torch.Tensor:
    """``[batch, pos, d_vocab]`` logits whose ``positions`` are right (all of them if None).

    The others are never read by the metric (``read_positions`` proved it): with one position,
    every position is a zero-copy view of it; otherwise they are left uninitialised.
    """
    if positions is None:
        return logits
    if len(positions) == 1:
        return logits.expand(logits.shape[0], pos, logits.shape[-1])
    full = logits.new_empty(logits.shape[0], pos, logits.shape[-1])
    full[:, positions] = logits
    return full


def _drop_positions(name: str, act: torch.Tensor, shared: int) -> torch.Tensor:
    """The activation without its first ``shared`` (query) positions."""
    if not shared:
        return act
    return act.narrow(_query_pos_dim(name), shared, act.shape[_query_pos_dim(name)] - shared)


def _shifted(run: PatchRun, shared: int) -> list[int]:
    index = list(run.index)
    if shared and run.traits is not None:
        for part in run.traits.query_pos_parts:
            index[part] -= shared
    return index


def _run_chunk(model, tokens, clean, chunk: Sequence[PatchRun], corrupted: _Corrupted) -> torch.Tensor:
    """The residual stream leaving the last block, ``[len(chunk) * batch, pos, d_model]``, of the
    chunk's runs (sorted by start).

    With shared leading positions the blocks run on the other positions only, reading the shared
    ones' keys and values from a KV cache; the corrupted run's final residual fills them back in.
    """
    batch = tokens.shape[0]
    shared = corrupted.shared
    segments: dict[int, list[PatchRun]] = defaultdict(list)
    for run in chunk:
        segments[run.start].append(run)
    by_hook: dict[str, list[tuple[int, PatchRun]]] = defaultdict(list)
    row = 0
    for start in sorted(segments):
        for run in segments[start]:
            by_hook[run.hook_name].append((row, run))
            row += batch
    hooks = [(name, _stacked_hook(entries, clean[name], batch, shared)) for name, entries in by_hook.items()]
    starts = sorted(segments)
    n_layers = model.cfg.n_layers
    with model.hooks(fwd_hooks=hooks):
        stream: Optional[torch.Tensor] = None
        for j, start in enumerate(starts):
            stop = starts[j + 1] if j + 1 < len(starts) else n_layers
            n_new = len(segments[start])
            new = corrupted.resid_pre[start][:, shared:].repeat(n_new, 1, 1)
            stream = new if stream is None else torch.cat([stream, new])
            extra = {}  # only shared positions need a KV cache (and only decoders take one)
            if shared:
                extra["past_kv_cache"] = _prefix_cache(model, corrupted, stream.shape[0] // batch, start, stop)
            stream = model(stream, start_at_layer=start, stop_at_layer=stop, **extra)
    assert stream is not None
    if shared:
        assert corrupted.final_resid is not None
        prefix = corrupted.final_resid[:, :shared].repeat(stream.shape[0] // batch, 1, 1)
        stream = torch.cat([prefix, stream], dim=1)
    return stream


def _prefix_cache(model, corrupted: _Corrupted, copies: int, start: int, stop: Optional[int]):
    """A frozen KV cache holding the shared positions' keys and values for ``copies`` runs."""
    shared = corrupted.shared
    entries: list[Any] = [None] * model.cfg.n_layers
    for layer in range(model.cfg.n_layers)[start:stop]:
        keys = corrupted.keys[layer][:, :shared].repeat(copies, 1, 1, 1)
        values = corrupted.values[layer][:, :shared].repeat(copies, 1, 1, 1)
        entries[layer] = KeyValueCacheEntry(keys, values, frozen=True)
    rows = copies * corrupted.logits.shape[0]
    mask = torch.ones(rows, shared, dtype=torch.long, device=corrupted.logits.device)
    return HookedTransformerKeyValueCache(entries, mask, frozen=True)


def _stacked_hook(entries: Sequence[tuple[int, PatchRun]], clean_act: torch.Tensor, batch: int, shared: int):
    """A hook that applies each run's setter to that run's rows of the stacked activation."""

    def hook(act: torch.Tensor, hook: Any) -> torch.Tensor:
        for row, run in entries:
            rows = act[row : row + batch]
            out = apply_setter(run, rows, _shifted(run, shared), clean_act)
            if out is not rows:
                rows.copy_(out)
        return act

    return hook
