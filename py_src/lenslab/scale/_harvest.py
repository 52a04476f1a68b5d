"""``harvest``: activations of a token dataset, computed on Ray workers, written as shards plus a manifest.

Exactly once: the shard layout is a function of the arguments (``Plan``), so shard ``i`` always
covers the same sequences. A shard counts as done when its file, its sidecar and their sha256
agree; a rerun with the same arguments skips those and computes the rest. A Ray worker that dies
has its task retried by Ray (``max_task_retries``); a driver that dies leaves complete shards
(files appear only by atomic rename) that the rerun picks up.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Optional, Union

from lenslab.scale import _plan, _shards
from lenslab.scale._inputs import load_tokens, tokens_sha256
from lenslab.scale.errors import HarvestError

MANIFEST = "manifest.json"
LOCK = ".lock"
IN_FLIGHT_PER_WORKER = 2  # one computing, one queued: the worker never waits on the driver


def _model_config(model_name: str, model_kwargs: dict[str, Any]) -> Any:
    from transformer_lens.loading_from_pretrained import get_pretrained_model_config

    try:
        return get_pretrained_model_config(model_name, **model_kwargs)
    except Exception as err:  # unknown names, missing checkpoints: one line, before any worker
        raise HarvestError(f"model {model_name!r}: {str(err).splitlines()[0] if str(err) else type(err).__name__}") from None


def _read_manifest(out: Path) -> Optional[dict[str, Any]]:
    path = out / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        if data.get("run", {}).get("format") != _plan.FORMAT:
            raise ValueError("not a LensLab harvest manifest")
        return data
    except (ValueError, OSError) as err:
        raise HarvestError(f"out={out} holds an unreadable {MANIFEST} ({err}); use another directory") from None


def _foreign_files(out: Path) -> list[str]:
    ours = (MANIFEST, LOCK)
    return sorted(p.name for p in out.iterdir() if p.name not in ours and not p.name.startswith(_shards.TMP_PREFIX) and not p.name.startswith("shard-"))


def _check_out(out: Path, plan: _plan.Plan) -> Optional[dict[str, Any]]:
    """The manifest of an earlier attempt at this same run, or an error for a directory that holds something else."""
    if out.exists() and not out.is_dir():
        raise HarvestError(f"out={out} is a file, not a directory")
    if not out.exists():
        return None
    manifest = _read_manifest(out)
    if manifest is not None:
        earlier = _plan.Plan.from_json(manifest["run"])
        if earlier.fingerprint != plan.fingerprint:
            diff = ", ".join(plan.differences(earlier))
            raise HarvestError(
                f"out={out} holds another harvest ({earlier.model_name}, hooks {earlier.hooks}; differs in: {diff}); "
                "use another directory or delete it"
            )
        return manifest
    strays = _foreign_files(out) + sorted(p.name for p in out.glob("shard-*"))
    if strays:
        raise HarvestError(f"out={out} is not empty ({', '.join(strays[:3])}{' ...' if len(strays) > 3 else ''}) and holds no harvest manifest")
    return None


def _verified(out: Path, plan: _plan.Plan, index: int, start: int, stop: int, manifest_entry: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
    """The sidecar record of shard ``index`` if its file is present, ours, and matches its checksum."""
    path = out / _shards.shard_name(index)
    side = _shards.sidecar_path(path)
    if not path.is_file() or not side.is_file():
        return None
    try:
        record = json.loads(side.read_text())
    except (ValueError, OSError):
        return None
    expected = (plan.fingerprint, start, stop, path.stat().st_size)
    if (record.get("fingerprint"), record.get("start"), record.get("stop"), record.get("bytes")) != expected:
        return None
    if manifest_entry and manifest_entry.get("sha256") not in (None, record.get("sha256")):
        return None
    if _shards.sha256_file(path) != record.get("sha256"):
        return None
    return record


def _write_manifest(out: Path, plan: _plan.Plan, records: dict[int, dict[str, Any]], complete: bool) -> None:
    shards = []
    for index, (start, stop) in enumerate(plan.shard_ranges):
        entry: dict[str, Any] = {"index": index, "file": _shards.shard_name(index), "start": start, "stop": stop}
        if index in records:
            entry.update(sha256=records[index]["sha256"], bytes=records[index]["bytes"])
        shards.append(entry)
    _shards.write_json_atomic(out / MANIFEST, {"run": plan.to_json(), "complete": complete, "shards": shards})


def _cause(err: BaseException) -> BaseException:
    """The worker's own exception inside a Ray task error."""
    return getattr(err, "cause", None) or err


def make_plan(
    model_name: str,
    tokens: Any,
    hooks: list[str],
    positions: Any,
    dtype: Any,
    batch_size: int,
    seqs_per_shard: Optional[int],
    shard_mb: float,
    model_kwargs: dict[str, Any],
) -> tuple[_plan.Plan, Any]:
    """The run's plan and the model config, after every check that needs no worker."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise HarvestError(f"batch_size must be a positive int, got {batch_size!r}")
    cfg = _model_config(model_name, model_kwargs)
    hooks = [hooks] if isinstance(hooks, str) else list(hooks)
    _plan.check_hooks(hooks, cfg)
    n_seqs, seq_len = tokens.shape
    if seq_len > cfg.n_ctx:
        raise HarvestError(f"sequences of {seq_len} tokens are longer than {model_name}'s context of {cfg.n_ctx}")
    low, high = int(tokens.min()), int(tokens.max())
    if low < 0 or high >= cfg.d_vocab:
        raise HarvestError(f"token ids span [{low}, {high}] but {model_name}'s vocabulary is [0, {cfg.d_vocab})")
    name = _plan.dtype_name(dtype if dtype is not None else cfg.dtype)
    positions = _plan.positions_json(positions, seq_len)
    shapes = {hook: _plan.hook_row_shape(hook, cfg, seq_len, positions) for hook in hooks}
    probe = _plan.Plan(model_name, model_kwargs, hooks, positions, name, n_seqs, seq_len, "", 1, shapes)
    if seqs_per_shard is None:
        # Shards of about shard_mb, a whole number of batches (the last shard may be short).
        fit = max(1, int(shard_mb * 2**20 // probe.bytes_per_seq))
        seqs_per_shard = max(batch_size, fit // batch_size * batch_size)
    elif not isinstance(seqs_per_shard, int) or seqs_per_shard < 1:
        raise HarvestError(f"seqs_per_shard must be a positive int, got {seqs_per_shard!r}")
    seqs_per_shard = min(seqs_per_shard, n_seqs)
    plan = _plan.Plan(model_name, model_kwargs, hooks, positions, name, n_seqs, seq_len, tokens_sha256(tokens), seqs_per_shard, shapes)
    return plan, cfg


def harvest(
    model_name: str,
    tokens_or_dataset: Any,
    hooks: Union[str, list[str]],
    out: Union[str, os.PathLike[str]],
    batch_size: int = 32,
    positions: Any = None,
    dtype: Any = None,
    address: Optional[str] = None,
    num_workers: int = 1,
    gpus_per_worker: float = 0,
    progress: bool = True,
    *,
    column: Optional[str] = None,
    seqs_per_shard: Optional[int] = None,
    shard_mb: float = 256,
    max_disk_mb: Optional[float] = None,
    max_memory_mb: Optional[float] = None,
    model_kwargs: Optional[dict[str, Any]] = None,
    _fault: Optional[Callable[[Path, int], None]] = None,
) -> Path:
    """Run ``model_name`` over token sequences on Ray workers and store ``hooks``' activations under ``out``.

    Args:
        model_name: A ``HookedTransformer.from_pretrained`` name (each worker loads it once).
        tokens_or_dataset: Token ids ``[n_seqs, seq_len]``: a tensor or array, a ``datasets.Dataset``
            with an ``input_ids`` / ``tokens`` column (or ``column=``) of equal-length rows, or
            ``.npy`` / ``.pt`` file paths (concatenated along the rows).
        hooks: Hook point names, e.g. ``["blocks.0.mlp.hook_post", "blocks.1.hook_resid_post"]``.
        out: Output directory: ``shard-NNNNNN.safetensors`` (+ ``.json`` sidecars) and ``manifest.json``.
            On a cluster it must be a filesystem every worker can write.
        batch_size: Sequences per forward pass (a worker holds one batch's activations at a time).
        positions: Which positions to keep: None (all), an int, a slice or a list of ints
            (``run_with_cache``'s ``pos_slice``).
        dtype: Stored dtype (float32, float16, bfloat16; default the model's).
        address: ``ray.init`` address (``"ray://head:10001"``); None starts a local Ray in this process.
        num_workers, gpus_per_worker: Ray actors, each loading the model once, with this many GPUs each
            (``num_workers=0``: the same shards computed in this process, without Ray).
        progress: A tqdm bar over tokens, across all workers.
        seqs_per_shard / shard_mb: Shard size (default: about ``shard_mb`` MiB, a whole number of batches).
        max_disk_mb: Refuse to start if the output would exceed this (default: the free disk space).
        max_memory_mb: Refuse to start if one batch's activations exceed this.
        model_kwargs: Extra ``from_pretrained`` keyword arguments (part of the run's identity).

    Returns:
        ``out`` as a Path; read it with :func:`lenslab.scale.open_store`.

    Rerunning the same call resumes: verified shards are skipped. Bad arguments, a directory
    holding another run, or output that would not fit raise a one-line ``HarvestError`` before
    any worker starts.
    """
    model_kwargs = dict(model_kwargs or {})
    if not isinstance(num_workers, int) or num_workers < 0:
        raise HarvestError(f"num_workers must be an int >= 0 (0: in this process, no Ray), got {num_workers!r}")
    tokens = load_tokens(tokens_or_dataset, column)
    plan, cfg = make_plan(model_name, tokens, hooks if not isinstance(hooks, str) else [hooks], positions, dtype, batch_size, seqs_per_shard, shard_mb, model_kwargs)
    out = Path(out).expanduser().resolve()
    manifest = _check_out(out, plan)
    # The budget counts shards that look done (their sidecar exists); they are verified under the lock.
    left = sum(stop - start for i, (start, stop) in enumerate(plan.shard_ranges) if not _shards.sidecar_path(out / _shards.shard_name(i)).is_file())
    _plan.check_budget(plan, cfg, out, batch_size, left, max_disk_mb, max_memory_mb)
    out.mkdir(parents=True, exist_ok=True)
    lock = open(out / LOCK, "w")
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise HarvestError(f"out={out} is being written by another harvest (its lock is held)") from None
        return _run(plan, tokens, out, manifest, batch_size, address, num_workers, gpus_per_worker, progress, _fault)
    finally:
        lock.close()


def _run(
    plan: _plan.Plan,
    tokens: Any,
    out: Path,
    manifest: Optional[dict[str, Any]],
    batch_size: int,
    address: Optional[str],
    num_workers: int,
    gpus_per_worker: float,
    progress: bool,
    fault: Optional[Callable[[Path, int], None]],
) -> Path:
    # Leftovers of an interrupted attempt: temporary files are never part of a run.
    for stale in out.glob(_shards.TMP_PREFIX + "*"):
        stale.unlink(missing_ok=True)
    entries = {e["index"]: e for e in (manifest or {}).get("shards", [])}
    records: dict[int, dict[str, Any]] = {}
    todo: list[tuple[int, int, int]] = []
    for index, (start, stop) in enumerate(plan.shard_ranges):
        record = _verified(out, plan, index, start, stop, entries.get(index))
        if record is not None:
            records[index] = record
        else:
            for path in (out / _shards.shard_name(index), _shards.sidecar_path(out / _shards.shard_name(index))):
                path.unlink(missing_ok=True)  # a shard that fails verification is computed again
            todo.append((index, start, stop))
    _write_manifest(out, plan, records, complete=not todo)
    if not todo:
        return out

    from tqdm.auto import tqdm

    done_tokens = sum(plan.shard_ranges[i][1] - plan.shard_ranges[i][0] for i in records) * plan.seq_len
    bar = tqdm(total=plan.n_seqs * plan.seq_len, initial=done_tokens, unit="tok", unit_scale=True, disable=not progress, desc="harvest")
    tasks = [
        {
            "index": index, "start": start, "stop": stop, "path": str(out / _shards.shard_name(index)),
            "batch_size": batch_size, "dtype": plan.dtype, "shapes": plan.shapes, "seq_len": plan.seq_len,
            "positions": plan.positions, "fingerprint": plan.fingerprint,
        }
        for index, start, stop in todo
    ]
    last_write = [time.monotonic()]

    def finished(record: dict[str, Any]) -> None:
        records[record["index"]] = record
        bar.update((record["stop"] - record["start"]) * plan.seq_len)
        if time.monotonic() - last_write[0] > 5:  # the manifest follows progress (sidecars are the truth)
            _write_manifest(out, plan, records, complete=False)
            last_write[0] = time.monotonic()

    try:
        if num_workers == 0:
            failure = _run_here(plan, tasks, tokens, gpus_per_worker, fault, finished)
        else:
            failure = _run_on_ray(plan, tasks, tokens, address, num_workers, gpus_per_worker, fault, finished)
    finally:
        bar.close()
        _write_manifest(out, plan, records, complete=len(records) == len(plan.shard_ranges))
        for stale in out.glob(_shards.TMP_PREFIX + "*"):  # left by a worker killed mid-shard (its task was retried)
            stale.unlink(missing_ok=True)
    if failure is not None:
        cause = _cause(failure)
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            raise HarvestError(
                f"disk full writing {out} ({len(records)} of {len(plan.shard_ranges)} shards complete): "
                "free some space and rerun the same call to resume"
            ) from failure
        first = str(cause).strip().splitlines()[-1] if str(cause).strip() else type(cause).__name__
        raise HarvestError(
            f"harvest stopped ({len(records)} of {len(plan.shard_ranges)} shards complete; rerun to resume): {type(cause).__name__}: {first}"
        ) from failure
    return out


def _run_here(plan: _plan.Plan, tasks: list[dict[str, Any]], tokens: Any, gpus: float, fault: Any, finished: Callable[[dict[str, Any]], None]) -> Optional[BaseException]:
    """``num_workers=0``: the same shards, computed in this process (no Ray)."""
    from lenslab.scale._worker import HarvestWorker

    worker = HarvestWorker(plan.model_name, plan.model_kwargs, gpus)
    for task in tasks:
        try:
            finished(worker.run_shard(task, tokens, fault))
        except Exception as err:  # noqa: BLE001 - reported like a worker's failure
            return err
    return None


def _run_on_ray(
    plan: _plan.Plan,
    tasks: list[dict[str, Any]],
    tokens: Any,
    address: Optional[str],
    num_workers: int,
    gpus: float,
    fault: Any,
    finished: Callable[[dict[str, Any]], None],
) -> Optional[BaseException]:
    """Shards over Ray actors, a few in flight per actor; the first failure stops new submissions."""
    from lenslab.scale import _ray

    ray = _ray.connect(address)
    _ray.check_resources(ray, num_workers, gpus)
    actors = _ray.harvest_actors(ray, plan.model_name, plan.model_kwargs, num_workers, gpus)
    tokens_ref = ray.put(tokens)
    pending = list(reversed(tasks))
    in_flight: dict[Any, Any] = {}
    failure: Optional[BaseException] = None

    def submit(actor: Any) -> None:
        in_flight[actor.run_shard.remote(pending.pop(), tokens_ref, fault)] = actor

    for _ in range(IN_FLIGHT_PER_WORKER):
        for actor in actors:
            if pending:
                submit(actor)
    while in_flight:
        ready, _ = ray.wait(list(in_flight), num_returns=1)
        actor = in_flight.pop(ready[0])
        try:
            finished(ray.get(ready[0]))
        except Exception as err:  # noqa: BLE001 - running shards finish, nothing new starts
            failure = failure or err
            continue
        if pending and failure is None:
            submit(actor)
    return failure
