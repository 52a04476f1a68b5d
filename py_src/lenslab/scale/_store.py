"""Reading a harvest back: ``open_store(dir)`` -> ``HarvestStore``.

``store["blocks.0.mlp.hook_post"]`` is the tensor ``run_with_cache`` would have cached on all the
tokens at once (``[n_seqs, ...]``); ``iter_shards`` streams it shard by shard for data larger than memory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator, Optional, Union

import torch

from lenslab.scale import _plan, _shards
from lenslab.scale.errors import HarvestError


class HarvestStore:
    """A complete harvest directory: its plan (model, hooks, shapes, dtype) and its shards."""

    def __init__(self, path: Union[str, os.PathLike[str]], verify: bool = True) -> None:
        from lenslab.scale._harvest import MANIFEST, _read_manifest

        self.path = Path(path)
        manifest = _read_manifest(self.path) if self.path.is_dir() else None
        if manifest is None:
            raise HarvestError(f"{self.path} holds no harvest ({MANIFEST} missing)")
        self.plan = _plan.Plan.from_json(manifest["run"])
        self.shards: list[dict[str, Any]] = manifest["shards"]
        if not manifest.get("complete") or any("sha256" not in s for s in self.shards):
            missing = sum("sha256" not in s for s in self.shards)
            raise HarvestError(f"{self.path}: the harvest is incomplete ({missing} of {len(self.shards)} shards missing); rerun harvest to finish it")
        if verify:
            self.verify()

    def verify(self) -> None:
        """Every shard present, of the recorded size and sha256, and the shards tile the sequences exactly once."""
        expected = 0
        for shard in self.shards:
            if shard["start"] != expected:
                raise HarvestError(f"{self.path}: shard {shard['index']} starts at {shard['start']}, expected {expected}")
            expected = shard["stop"]
            file = self.path / shard["file"]
            if not file.is_file() or file.stat().st_size != shard["bytes"] or _shards.sha256_file(file) != shard["sha256"]:
                raise HarvestError(f"{file}: missing or does not match its checksum in the manifest")
        if expected != self.plan.n_seqs:
            raise HarvestError(f"{self.path}: shards cover {expected} of {self.plan.n_seqs} sequences")

    @property
    def model_name(self) -> str:
        return self.plan.model_name

    @property
    def hooks(self) -> list[str]:
        return list(self.plan.hooks)

    @property
    def n_seqs(self) -> int:
        return self.plan.n_seqs

    @property
    def seq_len(self) -> int:
        return self.plan.seq_len

    @property
    def positions(self) -> list[int]:
        """The sequence position of each stored row position (all of them unless ``positions=`` kept fewer)."""
        return _plan.kept_positions(self.plan.positions, self.plan.seq_len)

    def shape(self, hook: str) -> tuple[int, ...]:
        return (self.plan.n_seqs, *self.plan.shapes[self._check(hook)])

    def _check(self, hook: str) -> str:
        if hook not in self.plan.shapes:
            raise KeyError(f"{hook!r} was not harvested; this store has {self.hooks}")
        return hook

    def iter_shards(self, hook: str) -> Iterator[tuple[int, int, torch.Tensor, torch.Tensor]]:
        """``(start, stop, activations, tokens)`` per shard, in sequence order (one shard in memory at a time)."""
        from safetensors import safe_open

        self._check(hook)
        for shard in self.shards:
            with safe_open(str(self.path / shard["file"]), framework="pt") as handle:
                yield shard["start"], shard["stop"], handle.get_tensor(hook), handle.get_tensor("tokens").long()

    def activations(self, hook: str, seqs: Optional[slice] = None) -> torch.Tensor:
        """Activations of ``hook`` for sequences ``seqs`` (default all): ``[n, *shape]``."""
        return self._rows(hook, seqs)

    def tokens(self, seqs: Optional[slice] = None) -> torch.Tensor:
        """The token ids ``[n, seq_len]`` the activations were computed from."""
        return self._rows("tokens", seqs)

    def _rows(self, name: str, seqs: Optional[slice]) -> torch.Tensor:
        from safetensors import safe_open

        if name != "tokens":
            self._check(name)
        start, stop, step = (seqs or slice(None)).indices(self.plan.n_seqs)
        if step != 1:
            raise ValueError("seqs: only contiguous slices")
        parts = []
        for shard in self.shards:
            lo, hi = max(start, shard["start"]), min(stop, shard["stop"])
            if lo >= hi:
                continue
            with safe_open(str(self.path / shard["file"]), framework="pt") as handle:
                parts.append(handle.get_slice(name)[lo - shard["start"] : hi - shard["start"]])
        if not parts:
            shape = self.plan.shapes.get(name, [self.plan.seq_len])
            return torch.empty((0, *shape), dtype=_plan.DTYPES[self.plan.dtype] if name != "tokens" else torch.long)
        rows = torch.cat(parts)
        return rows.long() if name == "tokens" else rows

    def __getitem__(self, hook: str) -> torch.Tensor:
        return self.activations(hook)

    def __repr__(self) -> str:
        return (
            f"HarvestStore({str(self.path)!r}: {self.model_name}, {self.n_seqs} x {self.seq_len} tokens, "
            f"{len(self.shards)} shards, {self.plan.dtype}, hooks {self.hooks})"
        )

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.path / "manifest.json").read_text())


def open_store(path: Union[str, os.PathLike[str]], verify: bool = True) -> HarvestStore:
    """Open a finished harvest (checksums verified unless ``verify=False``)."""
    return HarvestStore(path, verify=verify)
