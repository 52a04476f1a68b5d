"""Ray, imported lazily: connecting (or starting the local in-process cluster) and the worker pool.

The pool of harvest actors outlives one ``harvest`` call: a second call with the same model (in a
notebook, say) reuses the loaded workers instead of paying process start-up and model loading again.
``shutdown()`` releases them.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any, Iterator, Optional

from lenslab.scale.errors import HarvestError


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise HarvestError('lenslab.scale needs Ray: pip install "lenslab[scale]" (or pip install "ray>=2.40")') from None
    return ray


@contextlib.contextmanager
def _fast_imports(local: bool) -> Iterator[None]:
    """While a local cluster starts, its processes (which inherit this environment) get ``_ray_site`` first on their path."""
    if not local:
        yield
        return
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(__file__).with_name("_ray_site")), before) if p)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


def connect(address: Optional[str], num_cpus: Optional[int] = None, attempts: int = 3) -> Any:
    """``ray.init(address)`` unless Ray is already initialised in this process; returns the ray module.

    A local start is retried: on an overloaded machine Ray's node start-up can time out (its raylet
    waits a fixed 15 s for the dashboard agent's ports), and a second try usually finds the machine calmer.
    """
    ray = import_ray()
    for attempt in range(attempts):
        if ray.is_initialized():
            break
        try:
            with _fast_imports(address is None):
                ray.init(
                    address=address,
                    num_cpus=num_cpus if address is None else None,
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level="WARNING",
                )
        except Exception as err:  # Ray raises a bare Exception for a node that timed out starting
            if address is not None or "timed out during startup" not in str(err) or attempt == attempts - 1:
                raise HarvestError(f"Ray did not start ({'address ' + address if address else 'local'}): {str(err).splitlines()[0]}") from err
            ray.shutdown()
    return ray


def check_resources(ray: Any, num_workers: int, gpus_per_worker: float) -> None:
    """A local cluster too small for the workers asked for would wait forever: say so instead."""
    total = ray.cluster_resources()
    if total.get("CPU", 0) < num_workers:
        raise HarvestError(f"num_workers={num_workers} but the Ray cluster has {total.get('CPU', 0):g} CPUs")
    if gpus_per_worker and total.get("GPU", 0) < num_workers * gpus_per_worker:
        raise HarvestError(
            f"num_workers={num_workers} x gpus_per_worker={gpus_per_worker:g} but the Ray cluster has {total.get('GPU', 0):g} GPUs"
        )


_POOLS: dict[tuple[str, str, float], tuple[str, list[Any]]] = {}


def make_room(ray: Any, cpus: float, keep: Optional[tuple[str, str, float]] = None, wait_s: float = 30) -> None:
    """Idle pooled harvest workers hold a CPU each: release them (all but ``keep``'s) when ``cpus`` more are needed.

    Without this, a sweep after a harvest on a small cluster would wait forever for a CPU that an
    idle pooled worker keeps.
    """
    if ray.available_resources().get("CPU", 0) >= cpus:
        return
    released = False
    for key in [k for k in _POOLS if k != keep]:
        for actor in _POOLS.pop(key)[1]:
            ray.kill(actor)
            released = True
    if not released:
        return
    deadline = time.monotonic() + wait_s
    while ray.available_resources().get("CPU", 0) < cpus and time.monotonic() < deadline:
        time.sleep(0.1)


def harvest_actors(ray: Any, model_name: str, model_kwargs: dict[str, Any], num_workers: int, gpus: float) -> list[Any]:
    """``num_workers`` harvest actors for this model, reusing live ones from earlier calls."""
    from lenslab.scale._worker import HarvestWorker

    job = ray.get_runtime_context().get_job_id()
    key = (model_name, json.dumps(model_kwargs, sort_keys=True, default=str), gpus)
    pool_job, actors = _POOLS.get(key, (job, []))
    if pool_job != job:
        actors = []
    remote = ray.remote(HarvestWorker).options(num_cpus=1, num_gpus=gpus, max_restarts=3, max_task_retries=3)
    make_room(ray, num_workers - len(actors), keep=key)
    while len(actors) < num_workers:
        actors.append(remote.remote(model_name, model_kwargs, gpus))
    _POOLS[key] = (job, actors)
    return actors[:num_workers]


def shutdown(ray_too: bool = False) -> None:
    """Release the pooled workers (and, with ``ray_too``, this process's Ray session)."""
    try:
        import ray
    except ImportError:
        return
    if ray.is_initialized():
        for _, actors in _POOLS.values():
            for actor in actors:
                ray.kill(actor)
    _POOLS.clear()
    if ray_too and ray.is_initialized():
        ray.shutdown()
