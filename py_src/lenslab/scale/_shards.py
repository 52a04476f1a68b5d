"""Shard files: safetensors written row block by row block, then renamed into place.

A shard holds, per hook, one tensor ``[n_seqs, ...]`` plus the ``tokens`` it was computed from.
Its header (shapes, dtypes, offsets) is known before any activation exists, so the worker writes
each batch's rows straight to their place in the file: memory stays at one batch, never a shard.
The file is written under a temporary name and renamed only when complete (and fsynced), so a
file with a shard's final name is always whole; a sidecar ``.json`` written after it carries its
sha256, which a rerun checks before it skips the shard.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import uuid
from pathlib import Path
from typing import Any, Callable, Optional

import torch

# safetensors' dtype codes for the dtypes a harvest stores.
DTYPE_CODES = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float64: "F64",
    torch.int32: "I32",
    torch.int64: "I64",
}
TMP_PREFIX = ".tmp-"


def shard_name(index: int) -> str:
    return f"shard-{index:06d}.safetensors"


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _itemsize(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


class ShardWriter:
    """One shard being written: ``write_rows`` per batch, then ``finish`` (fsync, rename, sidecar).

    ``tensors``: name -> (dtype, full shape ``[n_rows, ...]``), in file order.
    ``fault``: called as ``fault(path, rows_written)`` before each write (tests inject disk-full errors).
    """

    def __init__(
        self,
        path: Path,
        tensors: dict[str, tuple[torch.dtype, tuple[int, ...]]],
        metadata: dict[str, str],
        fault: Optional[Callable[[Path, int], None]] = None,
    ) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex[:12]}-{self.path.name}")
        self.fault = fault
        self.rows_written = 0
        header: dict[str, Any] = {"__metadata__": metadata}
        self.layout: dict[str, tuple[torch.dtype, tuple[int, ...], int]] = {}
        offset = 0
        for name, (dtype, shape) in tensors.items():
            nbytes = math.prod(shape) * _itemsize(dtype)
            header[name] = {"dtype": DTYPE_CODES[dtype], "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
            self.layout[name] = (dtype, tuple(shape), offset)
            offset += nbytes
        raw = json.dumps(header, separators=(",", ":")).encode()
        raw += b" " * (-len(raw) % 8)  # safetensors pads the header so the data starts 8-aligned
        self.data_start = 8 + len(raw)
        self.size = self.data_start + offset
        self.handle = open(self.tmp, "wb")
        try:
            self._check_fault()
            self.handle.write(len(raw).to_bytes(8, "little") + raw)
            self.handle.truncate(self.size)
        except BaseException:
            self.abort()
            raise

    def _check_fault(self) -> None:
        if self.fault is not None:
            self.fault(self.path, self.rows_written)

    def write_rows(self, name: str, start: int, values: torch.Tensor) -> None:
        """Write rows ``start : start + len(values)`` of tensor ``name`` (dtype and row shape must match)."""
        dtype, shape, offset = self.layout[name]
        if values.dtype != dtype or tuple(values.shape[1:]) != shape[1:] or start + values.shape[0] > shape[0]:
            raise ValueError(
                f"shard {self.path.name}: {name} rows {start}+{tuple(values.shape)} {values.dtype} do not fit {shape} {dtype}"
            )
        try:
            self._check_fault()
            row_bytes = math.prod(shape[1:]) * _itemsize(dtype)
            self.handle.seek(self.data_start + offset + start * row_bytes)
            # bytes of the row-major tensor; a uint8 view handles bfloat16, which numpy lacks
            self.handle.write(values.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
            self.rows_written = max(self.rows_written, start + values.shape[0])
        except BaseException:
            self.abort()
            raise

    def finish(self, extra: dict[str, Any]) -> dict[str, Any]:
        """Make the shard durable under its final name; returns the sidecar's record (sha256, bytes, extra)."""
        try:
            self._check_fault()
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
            record = {**extra, "file": self.path.name, "bytes": self.size, "sha256": sha256_file(self.tmp)}
            os.replace(self.tmp, self.path)
            write_json_atomic(sidecar_path(self.path), record)
            return record
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Drop the temporary file (a failed shard leaves nothing behind)."""
        try:
            self.handle.close()
        except OSError:
            pass
        self.tmp.unlink(missing_ok=True)


def write_json_atomic(path: Path, value: Any) -> None:
    tmp = path.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex[:12]}-{path.name}")
    try:
        with open(tmp, "w") as handle:
            json.dump(value, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
