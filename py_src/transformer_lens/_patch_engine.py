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

import contextlib
import contextvars
import math
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence

import torch
from tqdm.auto import tqdm

from transformer_lens import hook_names, memory_budget
from transformer_lens._patch_attribution import attribution_estimates
from transformer_lens._patch_metric import metric_value, observed_metric_value
from transformer_lens.hooked_model import HookedModel
from transformer_lens.kv_cache import HookedTransformerKeyValueCache, KeyValueCacheEntry

if TYPE_CHECKING:
    from transformer_lens.config import HookedTransformerConfig

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
    max_batch_memory_mb: Optional[float] = None  # the older name of max_memory_mb
    progress: Any = True  # bool, or a callable(done, total)
    cancel: Any = None
    approx: bool = False
    max_memory_mb: Optional[float] = None

    def __post_init__(self) -> None:
        size = self.batch_size
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 1):
            raise ValueError(
                f"batch_size must be a positive number of patched runs per forward pass (or None to size "
                f"chunks by max_batch_memory_mb), got {size!r}"
            )
        new = memory_budget.check_memory_mb(self.max_memory_mb)
        old = memory_budget.check_memory_mb(self.max_batch_memory_mb, "max_batch_memory_mb")
        if new is not None and old is not None and new != old:
            raise ValueError(
                f"max_memory_mb={self.max_memory_mb!r} and max_batch_memory_mb={self.max_batch_memory_mb!r} disagree: "
                "they name the same budget, pass one"
            )

    def budget(self, device: Any) -> memory_budget.MemoryBudget:
        """Megabytes one chunk of stacked runs may use on ``device``: the request (default 1024), capped at free memory."""
        requested = self.max_memory_mb if self.max_memory_mb is not None else self.max_batch_memory_mb
        return memory_budget.MemoryBudget.resolve(requested, device, DEFAULT_MAX_BATCH_MEMORY_MB)


# ---- input checks (all before any patched forward) ----------------------------------------


def prepare_tokens(model: HookedModel, corrupted_tokens: Any) -> torch.Tensor:
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
    model: HookedModel, clean_cache: Any, names: Sequence[str], tokens: torch.Tensor
) -> dict[str, torch.Tensor]:
    """The clean activations the runs need, checked against the model and the corrupted shape."""
    if getattr(model.cfg, "attn_only", False):
        mlp_hooks = [name for name in names if _needs_mlp(name)]
        if mlp_hooks:
            raise ValueError(
                f"this model has no MLPs (attn_only=True), so {mlp_hooks[0]} never runs and cannot be patched; "
                "patch the attention (attn_out, z, pattern) or the residual stream (resid_pre) instead"
            )
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


def _needs_mlp(name: str) -> bool:
    """Whether a hook point exists only in blocks with an MLP (the MLP's own, ln2's, resid_mid)."""
    spec = hook_names.spec_for(name)
    return spec is not None and (spec.component == "mlp" or ".ln2." in spec.template or spec.short_name == "resid_mid")


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
    model: HookedModel,
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
        # A bad metric fails here, before any patched run; the batched path also learns from this
        # call which logit positions the metric reads.
        if options.sequential:
            corrupted.metric = metric_value(metric, corrupted.logits)
        else:
            corrupted.metric, corrupted.positions = observed_metric_value(metric, corrupted.logits)
        job = _EngineRun(model, tokens, clean, metric, runs, options, _ProgressBar(options.progress, len(runs)))
        try:
            if options.sequential:
                _sequential(job)
            else:
                _batched(job, corrupted)
        finally:
            job.bar.close()
    return job.results()


class SharedProgressBar:
    """One tqdm bar that every sweep run inside ``shared_progress_bar()`` adds its runs to."""

    def __init__(self, total: Optional[int], desc: str) -> None:
        # Without a total, each sweep grows it by its own run count as it starts.
        self.grows = total is None
        self.bar: Any = tqdm(total=total or 0, desc=desc, unit="run")

    def add_total(self, n: int) -> None:
        if self.grows:
            self.bar.total += n
            self.bar.refresh()

    def update(self, n: int) -> None:
        self.bar.update(n)


#: The bar of the innermost ``shared_progress_bar()`` block in this context (a worker thread,
#: such as the sidebar's job runner, starts with none).
_SHARED_BAR: contextvars.ContextVar[Optional[SharedProgressBar]] = contextvars.ContextVar("lenslab_shared_progress_bar", default=None)


@contextlib.contextmanager
def shared_progress_bar(total: Optional[int] = None, desc: str = "activation patching") -> Iterator[SharedProgressBar]:
    """One progress bar for every sweep in the block, instead of one bar per call.

    Sweeps run with ``progress=True`` (the default) inside the block report to this bar;
    ``progress=False`` and callable ``progress`` keep their own behaviour. ``total`` (patched
    runs) is optional: by default the bar's total grows as each sweep starts.
    """
    shared = SharedProgressBar(total, desc)
    token = _SHARED_BAR.set(shared)
    try:
        yield shared
    finally:
        _SHARED_BAR.reset(token)
        shared.bar.close()


class _ProgressBar:
    """``progress=True``: a tqdm.auto bar (or the enclosing shared bar); a callable:
    ``progress(done, total)`` after each step."""

    def __init__(self, progress: Any, total: int) -> None:
        self.callback: Optional[Callable[[int, int], Any]] = progress if callable(progress) else None
        self.done, self.total = 0, total
        self.bar: Optional[Any] = None
        self.shared: Optional[SharedProgressBar] = None
        if self.callback is None:
            shared = _SHARED_BAR.get() if progress else None
            if shared is not None:
                self.shared = shared
                shared.add_total(total)
            else:
                self.bar = tqdm(total=total, disable=not progress, desc="activation patching", unit="run")

    def update(self, n: int) -> None:
        if n <= 0:
            return
        self.done += n
        if self.shared is not None:
            self.shared.update(n)
        elif self.bar is not None:
            self.bar.update(n)
        elif self.callback is not None:
            self.callback(self.done, self.total)

    def close(self) -> None:
        if self.bar is not None:  # a shared bar closes with its block, not with one sweep
            self.bar.close()


@dataclass
class _EngineRun:
    """One engine call: the model and inputs, the runs, the options, and each run's metric as it finishes."""

    model: HookedModel
    tokens: torch.Tensor  # [batch, pos], on the model's device
    clean: dict[str, torch.Tensor]  # the clean activations the runs patch in, by hook name
    metric: Metric
    runs: Sequence[PatchRun]
    options: EngineOptions
    bar: _ProgressBar
    values: list[Optional[torch.Tensor]] = field(init=False)  # the metric per run; None until it ran

    def __post_init__(self) -> None:
        self.values = [None] * len(self.runs)

    def record(self, i: int, value: torch.Tensor) -> None:
        self.values[i] = value

    def check_cancel(self) -> None:
        _check_cancel(self.options.cancel, self.values, self.tokens.device)

    def results(self) -> torch.Tensor:
        return _collect(self.values, self.tokens.device)


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
    positions: Optional[list[int]] = None  # the logit positions the metric provably reads


def _can_share_prefix(model: HookedModel, runs: Sequence[PatchRun]) -> bool:
    """Leading positions can be shared when the setters only copy clean slices, attention is
    causal, and no hook of the caller's sees the shortened activations."""
    return (
        model.cfg.attention_dir == "causal"
        and all(run.traits is not None for run in runs)
        and all(_query_pos_dim(run.hook_name) is not None for run in runs)
        and not _user_hooks(model)
    )


def _layer(name: str) -> int:
    layer = hook_names.layer_of(name)
    assert layer is not None, name
    return layer


def _pos_dim(name: str) -> int:
    """The (query) position dimension of a hook the engine already checked has one."""
    dim = _query_pos_dim(name)
    assert dim is not None, name
    return dim


def _query_pos_dim(name: str) -> Optional[int]:
    spec = hook_names.spec_for(name)
    if spec is None:
        return None
    return next((i for i, dim in enumerate(spec.shape) if dim in ("pos", "query_pos")), None)


def _corrupted_run(
    model: HookedModel, tokens: torch.Tensor, runs: Sequence[PatchRun], clean: dict[str, torch.Tensor], share: bool
) -> _Corrupted:
    """Run the corrupted input once, keeping each start layer's resid_pre and, when sharing, the
    keys and values and the first position where any patched activation differs from the clean one."""
    starts = sorted({run.start for run in runs})
    corrupted = _Corrupted(logits=torch.empty(0), resid_pre={}, keys={}, values={})
    first_difference = [tokens.shape[1]]

    def save_resid(resid: torch.Tensor, hook: Any) -> None:
        corrupted.resid_pre[_layer(hook.name)] = resid

    def save_kv(store: dict[int, torch.Tensor]) -> Callable[[torch.Tensor, Any], None]:
        def save(act: torch.Tensor, hook: Any) -> None:
            store[_layer(hook.name)] = act

        return save

    def save_final(resid: torch.Tensor, hook: Any) -> None:
        corrupted.final_resid = resid

    def compare(act: torch.Tensor, hook: Any) -> None:
        pos_dim = _pos_dim(hook.name)

        def per_position_max(x: torch.Tensor) -> torch.Tensor:
            return x.movedim(pos_dim, 0).reshape(x.shape[pos_dim], -1).amax(dim=1)

        gap = per_position_max((act - clean[hook.name]).abs())
        same = gap <= SAME_POSITION_RTOL * per_position_max(act.abs())  # False for NaN
        where = (~same).nonzero()
        if len(where):
            first_difference.append(int(where[0, 0]))

    hooks: list[tuple[str, Callable[[torch.Tensor, Any], None]]] = [
        (hook_names.get_act_name("resid_pre", layer), save_resid) for layer in starts
    ]
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


def _sequential(job: _EngineRun) -> None:
    """One full forward pass per run (``run_with_hooks``): the reference path."""
    for i, run in enumerate(job.runs):
        job.check_cancel()

        def hook(act: torch.Tensor, hook: Any, run: PatchRun = run) -> Optional[torch.Tensor]:
            if act.requires_grad:
                act = act.clone()
            return apply_setter(run, act, list(run.index), job.clean[run.hook_name])

        logits = job.model.run_with_hooks(job.tokens, fwd_hooks=[(run.hook_name, hook)])
        job.record(i, metric_value(job.metric, logits))
        job.bar.update(1)


def runs_per_chunk(
    cfg: HookedTransformerConfig,
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


def _batched(job: _EngineRun, corrupted: _Corrupted) -> None:
    """Runs stacked along the batch, in chunks that fit the memory budget, each from its start block."""
    model, tokens, metric, runs, options, values, bar = job.model, job.tokens, job.metric, job.runs, job.options, job.values, job.bar
    batch, pos = tokens.shape
    shared = corrupted.shared
    todo = []
    for i, run in enumerate(runs):
        if run.traits is not None and _within_shared(run, shared, pos):
            assert corrupted.metric is not None
            job.record(i, corrupted.metric)  # it copies a clean slice equal to the corrupted one
        else:
            todo.append(i)
    bar.update(len(runs) - len(todo))
    own_hooks_only = not _user_hooks(model)
    positions = corrupted.positions if own_hooks_only and todo else None
    budget = options.budget(tokens.device)
    budget_mb = DEFAULT_MAX_BATCH_MEMORY_MB if budget.limit_bytes is None else budget.limit_bytes / memory_budget.MIB
    per_chunk = options.batch_size or runs_per_chunk(
        model.cfg, batch, pos, budget_mb, pos - shared, len(positions or range(pos))
    )
    clean = {name: _drop_positions(name, act, shared) for name, act in job.clean.items()}
    todo.sort(key=lambda i: runs[i].start)

    def unembed(final: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = model(final, start_at_layer=model.cfg.n_layers)
        return logits

    for first in range(0, len(todo), per_chunk):
        job.check_cancel()
        chunk = todo[first : first + per_chunk]
        final = _run_chunk(model, tokens, clean, [runs[i] for i in chunk], corrupted)
        if positions is not None and first == 0:
            # A run-time check of the read-positions proof on the first run, against all positions.
            whole = metric_value(metric, unembed(final[:batch]))
            job.record(chunk[0], whole)
            partial = metric_value(metric, _metric_input(unembed(final[:batch, positions]), positions, pos))
            if not torch.isclose(whole, partial, rtol=1e-4, atol=1e-5):
                positions = None  # the proof did not hold up: all positions
        logits = unembed(final if positions is None else final[:, positions])
        del final
        for k, i in enumerate(chunk):
            if values[i] is None:
                job.record(i, metric_value(metric, _metric_input(logits[k * batch : (k + 1) * batch], positions, pos)))
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


def _user_hooks(model: HookedModel) -> bool:
    return any(hp.fwd_hooks or hp.bwd_hooks for hp in model.hook_points())


def _metric_input(logits: torch.Tensor, positions: Optional[list[int]], pos: int) -> torch.Tensor:
    """``[batch, pos, d_vocab]`` logits whose ``positions`` are right (all of them if None).

    The others are never read by the metric (``observed_metric_value`` proved it): with one position,
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
    dim = _pos_dim(name)
    return act.narrow(dim, shared, act.shape[dim] - shared)


def _shifted(run: PatchRun, shared: int) -> list[int]:
    index = list(run.index)
    if shared and run.traits is not None:
        for part in run.traits.query_pos_parts:
            index[part] -= shared
    return index


def _run_chunk(
    model: HookedModel, tokens: torch.Tensor, clean: dict[str, torch.Tensor], chunk: Sequence[PatchRun], corrupted: _Corrupted
) -> torch.Tensor:
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
            extra: dict[str, Any] = {}  # only shared positions need a KV cache (and only decoders take one)
            if shared:
                extra["past_kv_cache"] = _prefix_cache(model, corrupted, stream.shape[0] // batch, start, stop)
            stream = model(stream, start_at_layer=start, stop_at_layer=stop, **extra)
    assert stream is not None
    if shared:
        assert corrupted.final_resid is not None
        prefix = corrupted.final_resid[:, :shared].repeat(stream.shape[0] // batch, 1, 1)
        stream = torch.cat([prefix, stream], dim=1)
    return stream


def _prefix_cache(
    model: HookedModel, corrupted: _Corrupted, copies: int, start: int, stop: Optional[int]
) -> HookedTransformerKeyValueCache:
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


def _stacked_hook(
    entries: Sequence[tuple[int, PatchRun]], clean_act: torch.Tensor, batch: int, shared: int
) -> Callable[[torch.Tensor, Any], torch.Tensor]:
    """A hook that applies each run's setter to that run's rows of the stacked activation."""

    def hook(act: torch.Tensor, hook: Any) -> torch.Tensor:
        for row, run in entries:
            rows = act[row : row + batch]
            out = apply_setter(run, rows, _shifted(run, shared), clean_act)
            if out is not rows:
                rows.copy_(out)
        return act

    return hook
