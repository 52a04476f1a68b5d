"""``sweep``: one activation-patching sweep per prompt pair, pairs spread over Ray workers.

Each pair is one Ray task (``max_retries``: a worker that dies costs only its unfinished pairs,
which Ray runs again elsewhere). A worker process loads the model once and keeps it for the
pairs that follow. Results stream back as pairs finish (``sweep_iter``); ``sweep`` collects them
in pair order.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional, Sequence, Union

import torch

from lenslab.scale.errors import HarvestError

Pair = tuple[Any, Any, Any, Any]  # (clean, corrupted, answer, wrong)


class SweepError(HarvestError):
    """A pair whose sweep failed (not a lost worker: Ray retries those)."""


def resolve_patching_fn(patching_fn: Union[str, Callable[..., Any]]) -> Callable[..., Any]:
    """A ``transformer_lens.patching`` function, or its name (``"get_act_patch_resid_pre"`` / ``"resid_pre"``)."""
    if callable(patching_fn):
        return patching_fn
    from transformer_lens import patching

    for name in (patching_fn, f"get_act_patch_{patching_fn}"):
        function = getattr(patching, str(name), None)
        if callable(function):
            return function
    raise SweepError(f"patching_fn={patching_fn!r} is not a transformer_lens.patching function")


def _tokens(model: Any, value: Any) -> torch.Tensor:
    if isinstance(value, str):
        return model.to_tokens(value)
    tokens = torch.as_tensor(value)
    return tokens.unsqueeze(0) if tokens.ndim == 1 else tokens


def _token_id(model: Any, value: Any) -> int:
    return model.to_single_token(value) if isinstance(value, str) else int(value)


def logit_diff(logits: torch.Tensor, answer: int, wrong: int) -> torch.Tensor:
    """The default metric: logit of the answer minus logit of the wrong answer, last position, batch mean."""
    last = logits[:, -1]
    return (last[:, answer] - last[:, wrong]).mean()


def _index_part(patching_fn: Callable[..., Any], model: Any, n_pos: int, part: int, parts: int) -> tuple[Any, tuple[int, ...]]:
    """Rows ``part`` of ``parts`` (contiguous) of a single sweep's index space, as an ``index_df``, and the full result shape."""
    import numpy as np
    import pandas as pd

    from transformer_lens import sweeps

    spec = sweeps.spec_for(getattr(patching_fn, "__name__", ""))
    if spec is None or spec.is_combined:
        raise SweepError(f"split= needs a single transformer_lens.patching sweep, not {getattr(patching_fn, '__name__', patching_fn)!r}")
    ranges = sweeps.axis_ranges(model.cfg, spec.activation, n_pos)
    shape = tuple(ranges[name] for name in spec.engine_axes)
    rows = np.array_split(np.stack(np.unravel_index(np.arange(int(np.prod(shape))), shape), axis=1), parts)[part]
    return pd.DataFrame(rows, columns=list(spec.engine_axes)), shape


def run_pair(
    patching_fn: Callable[..., Any],
    model: Any,
    pair: Pair,
    metric: Callable[[torch.Tensor, int, int], torch.Tensor] = logit_diff,
    part: int = 0,
    parts: int = 1,
    **patch_options: Any,
) -> torch.Tensor:
    """What one worker computes for one pair (or rows ``part`` of ``parts`` of its index space, flat).

    It is also what a local loop would compute: the reference for the tests.
    """
    clean, corrupted, answer, wrong = pair
    clean_tokens, corrupted_tokens = _tokens(model, clean), _tokens(model, corrupted)
    if clean_tokens.shape != corrupted_tokens.shape:
        raise SweepError(f"clean and corrupted prompts tokenize to {tuple(clean_tokens.shape)} and {tuple(corrupted_tokens.shape)}: they must match")
    answer_id, wrong_id = _token_id(model, answer), _token_id(model, wrong)
    device = model.cfg.device
    with torch.no_grad():
        _, clean_cache = model.run_with_cache(clean_tokens.to(device))
    if parts > 1:
        patch_options["index_df"], _ = _index_part(patching_fn, model, corrupted_tokens.shape[-1], part, parts)
    result = patching_fn(model, corrupted_tokens.to(device), clean_cache, lambda logits: metric(logits, answer_id, wrong_id), **patch_options)
    return torch.Tensor(result).detach().cpu()  # a plain tensor travels back to the driver


def result_shape(patching_fn: Callable[..., Any], model: Any, pair: Pair) -> tuple[int, ...]:
    return _index_part(patching_fn, model, _tokens(model, pair[1]).shape[-1], 0, 1)[1]


def _pair_task(
    patching_fn: Any, model_name: str, model_kwargs: dict[str, Any], gpus: float, pair: Pair, metric: Any, part: int, parts: int, patch_options: dict[str, Any]
) -> tuple[torch.Tensor, tuple[int, ...]]:
    from lenslab.scale._worker import cached_model

    model = cached_model(model_name, model_kwargs, gpus)
    shape = result_shape(patching_fn, model, pair) if parts > 1 else ()
    return run_pair(patching_fn, model, pair, metric, part, parts, **patch_options), shape


def _check_pairs(pairs: Sequence[Any]) -> list[Pair]:
    checked = []
    for index, pair in enumerate(pairs):
        if not isinstance(pair, (tuple, list)) or len(pair) != 4:
            raise SweepError(f"pairs[{index}]: expected (clean, corrupted, answer, wrong), got {pair!r:.80}")
        checked.append(tuple(pair))
    if not checked:
        raise SweepError("pairs=[]: nothing to sweep")
    return checked  # type: ignore[return-value]


def sweep_iter(
    patching_fn: Union[str, Callable[..., Any]],
    model_name: str,
    pairs: Sequence[Pair],
    *,
    metric: Callable[[torch.Tensor, int, int], torch.Tensor] = logit_diff,
    address: Optional[str] = None,
    num_workers: int = 1,
    gpus_per_worker: float = 0,
    model_kwargs: Optional[dict[str, Any]] = None,
    max_retries: int = 3,
    progress: bool = True,
    split: int = 1,
    **patch_options: Any,
) -> Iterator[tuple[int, torch.Tensor]]:
    """``(pair index, result)`` as each pair's sweep finishes (completion order).

    ``pairs``: ``(clean, corrupted, answer, wrong)``: prompts as strings or token ids of equal
    length, answers as single-token strings or token ids. ``metric(logits, answer_id, wrong_id)``
    (default: logit difference at the last position). ``patch_options`` go to ``patching_fn``
    (``batch_size``, ``max_memory_mb``, ...). At most ``num_workers`` pairs run at once, each on
    ``gpus_per_worker`` GPUs. ``split=k`` cuts each pair's index space into ``k`` tasks (for one
    huge pair; single ``get_act_patch_*`` sweeps only): the parts run as ``index_df`` slices and
    are put back together into the usual result shape.
    """
    function = resolve_patching_fn(patching_fn)
    checked = _check_pairs(pairs)
    if not isinstance(num_workers, int) or num_workers < 1:
        raise SweepError(f"num_workers must be a positive int, got {num_workers!r}")
    if not isinstance(split, int) or split < 1:
        raise SweepError(f"split must be a positive int, got {split!r}")
    if split > 1:
        from transformer_lens import sweeps

        spec = sweeps.spec_for(getattr(function, "__name__", ""))
        if spec is None or spec.is_combined:
            raise SweepError(f"split= needs a single transformer_lens.patching sweep, not {getattr(function, '__name__', function)!r}")
    from lenslab.scale import _ray

    ray = _ray.connect(address)
    _ray.check_resources(ray, 1, gpus_per_worker)
    _ray.make_room(ray, 1)
    task = ray.remote(_pair_task).options(num_cpus=1, num_gpus=gpus_per_worker, max_retries=max_retries)
    kwargs = dict(model_kwargs or {})
    patch_options.setdefault("progress", False)
    from tqdm.auto import tqdm

    bar = tqdm(total=len(checked), unit="pair", disable=not progress, desc="sweep")
    waiting = [(index, part) for index in reversed(range(len(checked))) for part in reversed(range(split))]
    in_flight: dict[Any, tuple[int, int]] = {}
    pieces: dict[int, dict[int, torch.Tensor]] = {}
    try:
        while waiting or in_flight:
            while waiting and len(in_flight) < num_workers:
                index, part = waiting.pop()
                ref = task.remote(function, model_name, kwargs, gpus_per_worker, checked[index], metric, part, split, patch_options)
                in_flight[ref] = (index, part)
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            index, part = in_flight.pop(ready[0])
            try:
                result, shape = ray.get(ready[0])
            except Exception as err:  # noqa: BLE001 - an error of the pair itself (lost workers were retried)
                cause = getattr(err, "cause", None) or err
                line = str(cause).strip().splitlines()[-1] if str(cause).strip() else type(cause).__name__
                raise SweepError(f"pairs[{index}] failed: {type(cause).__name__}: {line}") from err
            pieces.setdefault(index, {})[part] = result
            if len(pieces[index]) < split:
                continue
            parts = pieces.pop(index)
            if split > 1:  # the index_df parts are flat, in row-major order of the axes
                result = torch.cat([parts[p] for p in range(split)]).reshape(shape)
            bar.update(1)
            yield index, result
    finally:
        bar.close()
        for ref in in_flight:  # a consumer that stops early (or an error) leaves nothing running
            ray.cancel(ref)


def sweep(patching_fn: Union[str, Callable[..., Any]], model_name: str, pairs: Sequence[Pair], **options: Any) -> list[torch.Tensor]:
    """Every pair's sweep result, in pair order (see :func:`sweep_iter` for the options)."""
    results: dict[int, torch.Tensor] = dict(sweep_iter(patching_fn, model_name, pairs, **options))
    return [results[index] for index in range(len(results))]
