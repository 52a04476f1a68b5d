"""What a harvest will write, decided on the driver before any worker starts.

The plan (model, hooks, positions, dtype, the tokens' checksum, the shard layout) is the run's
identity: its fingerprint is stored in the manifest, in every shard's header and in every sidecar,
so a rerun recognises its own shards and refuses a directory that holds another run.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import torch

from lenslab.scale.errors import HarvestError

FORMAT = "lenslab-harvest/1"
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16, "float64": torch.float64}
Positions = Union[None, int, slice, list[int]]


def dtype_name(dtype: Any) -> str:
    if isinstance(dtype, str):
        name = dtype.removeprefix("torch.")
    else:
        name = str(dtype).removeprefix("torch.")
    if name not in DTYPES:
        raise HarvestError(f"dtype {dtype!r}: activations are stored as one of {', '.join(DTYPES)}")
    return name


def positions_json(positions: Positions, seq_len: int) -> Any:
    """A JSON form of ``positions`` (checked against ``seq_len``): null, an int, [start, stop, step] or {"list": [...]}."""
    if positions is None:
        return None
    if isinstance(positions, bool):
        raise HarvestError("positions: expected None, an int, a slice or a list of ints")
    if isinstance(positions, int):
        if not -seq_len <= positions < seq_len:
            raise HarvestError(f"positions={positions} is outside sequences of {seq_len} tokens")
        return positions
    if isinstance(positions, slice):
        if not range(seq_len)[positions]:
            raise HarvestError(f"positions={positions} keeps no position of sequences of {seq_len} tokens")
        return [positions.start, positions.stop, positions.step]
    if isinstance(positions, (list, tuple, torch.Tensor)):
        values = [int(p) for p in positions]
        bad = [p for p in values if not -seq_len <= p < seq_len]
        if not values or bad:
            raise HarvestError(f"positions {bad or values} are outside sequences of {seq_len} tokens")
        return {"list": values}
    raise HarvestError(f"positions: expected None, an int, a slice or a list of ints, got {type(positions).__name__}")


def pos_slice(positions: Any) -> Any:
    """The ``run_with_cache(pos_slice=...)`` value of a JSON positions form."""
    if positions is None or isinstance(positions, int):
        return positions
    if isinstance(positions, dict):
        return torch.tensor(positions["list"])
    return slice(*positions)


def kept_positions(positions: Any, seq_len: int) -> list[int]:
    """Which positions of a sequence each stored row covers, in order."""
    if positions is None:
        return list(range(seq_len))
    if isinstance(positions, int):
        return [positions % seq_len]
    if isinstance(positions, dict):
        return [p % seq_len for p in positions["list"]]
    return list(range(seq_len)[slice(*positions)])


@dataclass
class Plan:
    model_name: str
    model_kwargs: dict[str, Any]
    hooks: list[str]
    positions: Any
    dtype: str
    n_seqs: int
    seq_len: int
    tokens_sha256: str
    seqs_per_shard: int
    shapes: dict[str, list[int]]  # per sequence, without the batch dimension
    format: str = FORMAT
    fingerprint: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        identity = {k: v for k, v in asdict(self).items() if k != "fingerprint"}
        self.fingerprint = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]

    @property
    def bytes_per_seq(self) -> int:
        itemsize = DTYPES[self.dtype].itemsize
        return sum(math.prod(shape) * itemsize for shape in self.shapes.values()) + self.seq_len * 4

    @property
    def shard_ranges(self) -> list[tuple[int, int]]:
        step = self.seqs_per_shard
        return [(start, min(start + step, self.n_seqs)) for start in range(0, self.n_seqs, step)]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Plan":
        fields = {k: v for k, v in data.items() if k != "fingerprint"}
        return cls(**fields)

    def differences(self, other: "Plan") -> list[str]:
        mine, theirs = self.to_json(), other.to_json()
        return [key for key in mine if key != "fingerprint" and mine[key] != theirs.get(key)]


def _valid_hook_names(cfg: Any) -> list[str]:
    from transformer_lens import hook_names

    names = []
    for spec in hook_names.HOOK_SPECS:
        layers = range(cfg.n_layers) if "{layer}" in spec.template else [None]
        names += [spec.template.format(layer=layer) for layer in layers]
    return names


def check_hooks(hooks: list[str], cfg: Any) -> None:
    """Unknown hooks, and hooks that never fire on this model, fail here (on the driver)."""
    from transformer_lens import hook_names

    if not hooks:
        raise HarvestError("hooks=[]: name at least one hook point to harvest")
    valid = set(_valid_hook_names(cfg))
    for name in hooks:
        if name not in valid:
            raise HarvestError(f"{hook_names.unknown_hook_message(name, sorted(valid))} ({cfg.model_name}, {cfg.n_layers} layers)")
        reason = hook_names.silent_reason(name, cfg)
        if reason is not None:
            raise HarvestError(f"hook {name!r} {reason}")
    if len(set(hooks)) != len(hooks):
        raise HarvestError(f"hooks name the same hook twice: {hooks}")


def hook_row_shape(name: str, cfg: Any, seq_len: int, positions: Any) -> list[int]:
    """Shape of one sequence's activation at ``name`` (``run_with_cache``'s, without the batch)."""
    from transformer_lens import hook_names, memory_budget

    kept = len(kept_positions(positions, seq_len))
    sizes = memory_budget._dim_sizes(name, cfg, 1, seq_len, kept, 0)
    return [int(sizes[dim]) for dim in hook_names.hook_shape(name, cfg)[1:]]


def _free_disk_bytes(path: Path) -> int:
    probe = path
    while not probe.exists():
        probe = probe.parent
    return shutil.disk_usage(probe).free


def check_budget(plan: Plan, cfg: Any, out: Path, batch_size: int, todo: int, max_disk_mb: Optional[float], max_memory_mb: Optional[float]) -> None:
    """The output must fit the disk and one batch's activations the worker's budget, or nothing starts."""
    need = todo * plan.bytes_per_seq
    room = max_disk_mb * 2**20 if max_disk_mb is not None else _free_disk_bytes(out)
    if need > room:
        what = f"max_disk_mb={max_disk_mb:g}" if max_disk_mb is not None else f"{room / 2**30:.2f} GiB free at {out}"
        raise HarvestError(
            f"the harvest needs {need / 2**30:.2f} GiB ({plan.bytes_per_seq:,} bytes per sequence of {plan.seq_len} tokens "
            f"in {plan.dtype}) but {what}; harvest fewer hooks or positions, a 16-bit dtype, or point out= elsewhere"
        )
    if max_memory_mb is not None:
        itemsize = cfg.dtype.itemsize
        batch = batch_size * sum(math.prod(shape) * itemsize for shape in plan.shapes.values())
        if batch > max_memory_mb * 2**20:
            raise HarvestError(
                f"one batch of {batch_size} sequences holds {batch / 2**20:.1f} MiB of activations in {cfg.dtype} "
                f"(more than max_memory_mb={max_memory_mb:g}); lower batch_size"
            )
