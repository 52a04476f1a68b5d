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
from typing import Any, Callable, Mapping, Optional, Sequence

import torch
from tqdm.auto import tqdm

from transformer_lens import hook_names

DEFAULT_MAX_BATCH_MEMORY_MB = 1024.0
_FROM_TOKENS = -1  # start position of runs whose hook sits before the first block
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
class PatchRun:
    """One patched run: ``setter(corrupted_act, index, clean_act)`` at ``hook_name``."""

    hook_name: str
    setter: PatchSetter
    index: tuple[int, ...]

    @property
    def start(self) -> int:
        layer = hook_names.layer_of(self.hook_name)
        return _FROM_TOKENS if layer is None else layer


@dataclass(frozen=True)
class EngineOptions:
    sequential: bool = False
    batch_size: Optional[int] = None
    max_batch_memory_mb: float = DEFAULT_MAX_BATCH_MEMORY_MB
    progress: bool = True
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
        f"has shape {tuple(tokens.shape)}; patching needs the same number of positions (and the same batch, or a clean batch of 1)"
    )


def metric_value(metric: Metric, logits: torch.Tensor) -> torch.Tensor:
    """Call the metric and insist on a one-element tensor, as upstream's ``.item()`` does."""
    value = metric(logits)
    if not isinstance(value, torch.Tensor):
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise TypeError(
            f"patching_metric must return a scalar tensor, but it returned {type(value).__name__} {shown} "
            "(return a torch scalar, e.g. (logit_a - logit_b).mean())"
        )
    if value.numel() != 1:
        raise ValueError(
            f"patching_metric must return a scalar tensor, but it returned a tensor of shape {tuple(value.shape)} "
            "(reduce over the batch, e.g. with .mean())"
        )
    return value.detach().reshape(()).to(torch.float32)


# ---- exact patching -----------------------------------------------------------------------


def patch(
    model: Any,
    tokens: torch.Tensor,
    clean_cache: Any,
    metric: Metric,
    runs: Sequence[PatchRun],
    options: EngineOptions,
    attribution_reducers: Optional[Mapping[PatchSetter, tuple[int, ...]]] = None,
) -> torch.Tensor:
    """The metric after each run, ``[len(runs)]`` float32 on the model's device."""
    if not callable(metric):
        raise TypeError(f"patching_metric must be callable, got {type(metric).__name__}")
    names = sorted({run.hook_name for run in runs})
    clean = clean_activations(model, clean_cache, names, tokens)
    if options.approx:
        return _attribution(model, tokens, clean, metric, runs, attribution_reducers or {})
    starts = sorted({run.start for run in runs} - {_FROM_TOKENS})
    with torch.no_grad():
        resid_cache, corrupted_logits = _corrupted_run(model, tokens, starts)
        metric_value(metric, corrupted_logits)  # a bad metric fails here, before any patched run
        del corrupted_logits
        values: list[Optional[torch.Tensor]] = [None] * len(runs)
        bar = tqdm(total=len(runs), disable=not options.progress, desc="activation patching", unit="run")
        try:
            if options.sequential:
                _sequential(model, tokens, clean, metric, runs, values, bar, options.cancel)
            else:
                _batched(model, tokens, clean, metric, runs, values, bar, options, resid_cache)
        finally:
            bar.close()
    return _collect(values, tokens.device)


def _corrupted_run(model: Any, tokens: torch.Tensor, starts: Sequence[int]) -> tuple[dict[int, torch.Tensor], torch.Tensor]:
    """Corrupted logits and the residual stream entering each block a run starts at."""
    cache: dict[int, torch.Tensor] = {}

    def save(resid: torch.Tensor, hook: Any) -> None:
        cache[hook_names.layer_of(hook.name)] = resid.detach()

    hooks = [(hook_names.get_act_name("resid_pre", layer), save) for layer in starts]
    with model.hooks(fwd_hooks=hooks):
        logits = model(tokens)
    return cache, logits


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
            return run.setter(act, list(run.index), clean[run.hook_name])

        logits = model.run_with_hooks(tokens, fwd_hooks=[(run.hook_name, hook)])
        values[i] = metric_value(metric, logits)
        bar.update(1)


def runs_per_chunk(cfg: Any, batch: int, pos: int, max_batch_memory_mb: float) -> int:
    """How many patched runs fit one forward pass within the memory budget.

    Per row of the stacked batch at the widest point: the logits, the MLP hidden
    activations, a handful of residual-sized tensors and, for a pattern patch, the explicit
    attention scores and pattern of every head.
    """
    floats_per_row = cfg.d_vocab + 2 * (cfg.d_mlp or 0) + 6 * cfg.d_model + 3 * cfg.n_heads * pos
    bytes_per_run = batch * pos * floats_per_row * torch.finfo(cfg.dtype).bits // 8
    return max(1, int(max_batch_memory_mb * 2**20 // bytes_per_run))


def _batched(model, tokens, clean, metric, runs, values, bar, options: EngineOptions, resid_cache) -> None:
    batch, pos = tokens.shape
    per_chunk = options.batch_size or runs_per_chunk(model.cfg, batch, pos, options.max_batch_memory_mb)
    if per_chunk < 1:
        raise ValueError(f"batch_size must be a positive number of runs, got {per_chunk}")
    order = sorted(range(len(runs)), key=lambda i: runs[i].start)
    for first in range(0, len(order), per_chunk):
        _check_cancel(options.cancel, values, tokens.device)
        chunk = order[first : first + per_chunk]
        logits = _run_chunk(model, tokens, clean, [runs[i] for i in chunk], resid_cache)
        for k, i in enumerate(chunk):
            values[i] = metric_value(metric, logits[k * batch : (k + 1) * batch])
        bar.update(len(chunk))


def _run_chunk(model, tokens, clean, chunk: Sequence[PatchRun], resid_cache) -> torch.Tensor:
    """Logits ``[len(chunk) * batch, pos, d_vocab]`` of the chunk's runs (sorted by start)."""
    batch = tokens.shape[0]
    segments: dict[int, list[PatchRun]] = defaultdict(list)
    for run in chunk:
        segments[run.start].append(run)
    by_hook: dict[str, list[tuple[int, PatchRun]]] = defaultdict(list)
    row = 0
    for start in sorted(segments):
        for run in segments[start]:
            by_hook[run.hook_name].append((row, run))
            row += batch
    hooks = [(name, _stacked_hook(entries, clean[name], batch)) for name, entries in by_hook.items()]
    starts = sorted(segments)
    with model.hooks(fwd_hooks=hooks):
        stream: Optional[torch.Tensor] = None
        for j, start in enumerate(starts):
            stop = starts[j + 1] if j + 1 < len(starts) else None
            n_new = len(segments[start])
            if start == _FROM_TOKENS:
                stream = model(tokens.repeat(n_new, 1), stop_at_layer=stop)
                continue
            new = resid_cache[start].repeat(n_new, 1, 1)
            stream = new if stream is None else torch.cat([stream, new])
            stream = model(stream, start_at_layer=start, stop_at_layer=stop)
    assert stream is not None
    return stream


def _stacked_hook(entries: Sequence[tuple[int, PatchRun]], clean_act: torch.Tensor, batch: int):
    """A hook that applies each run's setter to that run's rows of the stacked activation."""

    def hook(act: torch.Tensor, hook: Any) -> torch.Tensor:
        for row, run in entries:
            rows = act[row : row + batch]
            out = run.setter(rows, list(run.index), clean_act)
            if out is not None and out is not rows:
                rows.copy_(out)
        return act

    return hook


# ---- attribution patching -----------------------------------------------------------------


def _attribution(model, tokens, clean, metric, runs, reducers) -> torch.Tensor:
    """First-order estimate of each patched run's metric.

    metric(patched) ~= metric(corrupted) + sum((patched_act - corrupted_act) * d metric / d act),
    with the gradient taken once, on the corrupted run. Exact when the metric is linear in the
    patched activation (e.g. a logit difference and an activation that reaches the logits
    through linear maps only); otherwise an approximation, good for small clean/corrupted gaps.
    """
    names = sorted(clean)
    acts: dict[str, torch.Tensor] = {}

    def keep(act: torch.Tensor, hook: Any) -> Optional[torch.Tensor]:
        # With frozen weights nothing upstream needs grad: make the activation a leaf so it does.
        replaced = None if act.requires_grad else act.detach().requires_grad_(True)
        acts[hook.name] = act if replaced is None else replaced
        return replaced

    with torch.enable_grad(), model.hooks(fwd_hooks=[(name, keep) for name in names]):
        logits = model(tokens)
        value = metric(logits)
    base = metric_value(lambda _: value, logits)  # the same checks as the exact path
    if not value.requires_grad:
        raise ValueError(
            "approx=True needs the metric's gradient, but patching_metric's result does not depend on the logits "
            "through autograd (does it call .item(), .detach() or run under torch.no_grad()?)"
        )
    grads = torch.autograd.grad(value.reshape(()), [acts[n] for n in names], allow_unused=True)
    grad_of = {n: torch.zeros_like(acts[n]) if g is None else g.detach() for n, g in zip(names, grads)}
    corrupted = {n: acts[n].detach() for n in names}
    estimates = torch.empty(len(runs), dtype=torch.float32, device=tokens.device)
    generic: list[int] = []
    groups: dict[tuple[str, Any], list[int]] = defaultdict(list)
    for i, run in enumerate(runs):
        if run.setter in reducers:
            groups[(run.hook_name, run.setter)].append(i)
        else:
            generic.append(i)
    with torch.no_grad():
        for (name, setter), members in groups.items():
            keep_dims = reducers[setter]
            contribution = (clean[name] - corrupted[name]) * grad_of[name]
            summed = contribution.sum(dim=[d for d in range(contribution.ndim) if d not in keep_dims])
            index = torch.tensor([runs[i].index[1:] for i in members], dtype=torch.long, device=summed.device)
            estimates[members] = summed[tuple(index.T)].float()
        for i in generic:
            run = runs[i]
            before = corrupted[run.hook_name]
            after = before.clone()
            out = run.setter(after, list(run.index), clean[run.hook_name])
            after = after if out is None else out
            estimates[i] = ((after - before) * grad_of[run.hook_name]).sum().float()
    return estimates + base
