"""What runs inside a Ray worker process: the model, loaded once, and one shard per call.

Nothing here imports Ray; torch and transformer_lens load in the worker, not when
``lenslab.scale`` is imported on the driver.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np


def _device(gpus: float) -> str:
    return "cuda" if gpus > 0 else "cpu"


def load_model(model_name: str, model_kwargs: dict[str, Any], gpus: float) -> Any:
    import torch

    from transformer_lens import HookedTransformer

    with torch.no_grad():  # local, not global: with num_workers=0 this runs in the caller's process
        model = HookedTransformer.from_pretrained(model_name, device=_device(gpus), **model_kwargs)
    return model.eval()


class HarvestWorker:
    """A Ray actor: ``__init__`` loads the model, ``run_shard`` computes and writes one shard."""

    def __init__(self, model_name: str, model_kwargs: dict[str, Any], gpus: float) -> None:
        self.model = load_model(model_name, model_kwargs, gpus)

    def pid(self) -> int:
        return os.getpid()

    def peak_rss_mb(self) -> float:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def run_shard(self, task: dict[str, Any], tokens: np.ndarray, fault: Optional[Callable[[Path, int], None]] = None) -> dict[str, Any]:
        import torch

        from lenslab.scale._plan import DTYPES, pos_slice
        from lenslab.scale._shards import ShardWriter

        start, stop, batch_size = task["start"], task["stop"], task["batch_size"]
        dtype = DTYPES[task["dtype"]]
        n = stop - start
        token_dtype = torch.int32 if self.model.cfg.d_vocab < 2**31 else torch.int64
        layout = {hook: (dtype, (n, *shape)) for hook, shape in task["shapes"].items()}
        layout["tokens"] = (token_dtype, (n, task["seq_len"]))
        metadata = {"fingerprint": task["fingerprint"], "start": str(start), "stop": str(stop)}
        writer = ShardWriter(Path(task["path"]), layout, metadata, fault)
        rows = torch.from_numpy(np.array(tokens[start:stop]))  # a private, writable copy of the rows
        writer.write_rows("tokens", 0, rows.to(token_dtype))
        positions = pos_slice(task["positions"])
        hooks = list(task["shapes"])
        device = self.model.cfg.device
        for offset in range(0, n, batch_size):
            batch = rows[offset : offset + batch_size].to(device)
            # no_grad, not inference_mode: the latter takes other kernels, and the store must equal run_with_cache
            with torch.no_grad():
                _, cache = self.model.run_with_cache(batch, names_filter=hooks, pos_slice=positions, return_type=None)
            for hook in hooks:
                writer.write_rows(hook, offset, cache[hook].to(dtype))
            del cache
        return writer.finish(
            {"index": task["index"], "start": start, "stop": stop, "fingerprint": task["fingerprint"], "worker_pid": os.getpid()}
        )


# Sweeps run as Ray tasks (retried by Ray when a worker dies); each worker process keeps the
# models it has loaded, so a model loads once per process, not once per pair.
_MODELS: dict[tuple[str, str, float], Any] = {}


def cached_model(model_name: str, model_kwargs: dict[str, Any], gpus: float) -> Any:
    import json

    key = (model_name, json.dumps(model_kwargs, sort_keys=True, default=str), gpus)
    if key not in _MODELS:
        _MODELS[key] = load_model(model_name, model_kwargs, gpus)
    return _MODELS[key]
