"""Checkpoint tensors read on demand, one at a time, with shapes known before any is read.

A ``TensorSource`` lists a checkpoint's tensor names and gives, per name, either the real
tensor (read from disk now) or a ``meta`` stand-in with its shape and dtype (free). The
streaming loader asks for real tensors of one layer at a time, so only that layer's source
tensors are ever in memory.

Safetensors files are read by their header (8-byte length, JSON of dtype/shape/offsets). Each
tensor is a private (copy-on-write) memory map of its own bytes, as Hugging Face loads them: its
pages are the page cache's until something writes to them, and a write copies just the pages it
touches, never the file. So a weight that needs no arithmetic (no cast, no weight processing)
is the map itself, in the checkpoint's layout, read from disk only when first used; the map is
released with the last view of it. ``is_mapped`` tells such tensors apart.
"""

from __future__ import annotations

import json
import mmap
import struct
import weakref
from pathlib import Path
from typing import Iterator, Mapping, Optional

import torch

_SAFETENSORS_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
    "F8_E4M3": torch.float8_e4m3fn,
    "F8_E5M2": torch.float8_e5m2,
}


class TensorSource(Mapping[str, torch.Tensor]):
    """Names -> tensors; ``meta(name)`` costs nothing, ``self[name]`` reads the tensor."""

    def meta(self, name: str) -> torch.Tensor:
        raise NotImplementedError

    def nbytes(self) -> int:
        return sum(self.meta(name).numel() * self.meta(name).element_size() for name in self)


class InMemorySource(TensorSource):
    """Tensors already in memory (a Hugging Face model's, a TransformerLens-format file's)."""

    def __init__(self, tensors: Mapping[str, torch.Tensor]) -> None:
        self._tensors = dict(tensors)

    def __getitem__(self, name: str) -> torch.Tensor:
        return self._tensors[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tensors)

    def __len__(self) -> int:
        return len(self._tensors)

    def meta(self, name: str) -> torch.Tensor:
        return self._tensors[name].to("meta")


class _Entry:
    __slots__ = ("file", "dtype", "shape", "begin", "end")

    def __init__(self, file: Path, dtype: torch.dtype, shape: tuple[int, ...], begin: int, end: int) -> None:
        self.file, self.dtype, self.shape, self.begin, self.end = file, dtype, shape, begin, end


class SafetensorsSource(TensorSource):
    """Every tensor of some ``.safetensors`` files (a sharded checkpoint), read one by one on access."""

    def __init__(self, files: list[Path]) -> None:
        self._entries = read_entries(files)
        self._metas: dict[str, torch.Tensor] = {}

    def __getitem__(self, name: str) -> torch.Tensor:
        entry = self._entries[name]
        itemsize = torch.empty((), dtype=entry.dtype).element_size()
        if entry.end > entry.begin and entry.begin % itemsize == 0:
            return _mapped(entry, name)
        tensor = torch.empty(entry.shape, dtype=entry.dtype)
        buffer = tensor.view(-1).view(torch.uint8) if tensor.numel() else None
        if buffer is not None:
            with open(entry.file, "rb") as handle:
                handle.seek(entry.begin)
                if handle.readinto(memoryview(buffer.numpy())) != entry.end - entry.begin:  # type: ignore[arg-type]
                    raise OSError(f"Weights file {entry.file} is corrupted or truncated: tensor {name} is cut short")
        return tensor

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def meta(self, name: str) -> torch.Tensor:
        if name not in self._metas:
            entry = self._entries[name]
            self._metas[name] = torch.empty(entry.shape, dtype=entry.dtype, device="meta")
        return self._metas[name]

    def largest_file_bytes(self) -> int:
        files = {entry.file for entry in self._entries.values()}
        return max((file.stat().st_size for file in files), default=0)


_PAGE = mmap.ALLOCATIONGRANULARITY
# Private and writable: writes copy pages (never reach the file). Not MAP_POPULATE: populating a
# private writable map copies every page up front; read faults map the page cache's pages instead.
_MAP_FLAGS = mmap.MAP_PRIVATE
_MAP_PROT = mmap.PROT_READ | mmap.PROT_WRITE


class _TensorMap(mmap.mmap):
    """A map of one checkpoint tensor's bytes, which knows the tensor (``mapped_origin``)."""

    file: Path
    name: str
    begin: int  # where the tensor's bytes start in the map


_mapped_storages: "weakref.WeakValueDictionary[int, _TensorMap]" = weakref.WeakValueDictionary()


def _mapped(entry: _Entry, name: str) -> torch.Tensor:
    """The tensor's bytes as a copy-on-write map of the file: no copy, no memory of our own until written."""
    start = entry.begin - entry.begin % _PAGE
    with open(entry.file, "rb") as handle:
        mapping = _TensorMap(handle.fileno(), entry.end - start, flags=_MAP_FLAGS, prot=_MAP_PROT, offset=start)
    mapping.file, mapping.name, mapping.begin = entry.file, name, entry.begin - start
    raw = torch.frombuffer(mapping, dtype=torch.uint8)
    _mapped_storages[raw.untyped_storage().data_ptr()] = mapping
    return raw[entry.begin - start :].view(entry.dtype).view(entry.shape)


def is_mapped(tensor: torch.Tensor) -> bool:
    """Whether ``tensor`` (or what it views) is a checkpoint file's map from a ``SafetensorsSource``.

    (The entry goes with the map, so an address later reused by an ordinary allocation is not mistaken.)
    """
    return tensor.device.type == "cpu" and tensor.untyped_storage().data_ptr() in _mapped_storages


def mapped_origin(tensor: torch.Tensor) -> Optional[tuple[Path, str, int]]:
    """For a view of a checkpoint tensor's map: its file, its name, and the view's first element
    counted from the tensor's first (in ``tensor``'s dtype; None if the view starts mid-element)."""
    if tensor.device.type != "cpu":
        return None
    mapping = _mapped_storages.get(tensor.untyped_storage().data_ptr())
    if mapping is None:
        return None
    offset_bytes = tensor.storage_offset() * tensor.element_size() - mapping.begin
    if offset_bytes % tensor.element_size():
        return None
    return mapping.file, mapping.name, offset_bytes // tensor.element_size()


def read_entries(files: list[Path]) -> dict[str, _Entry]:
    """Every tensor the files' headers declare, by name (what ``SafetensorsSource`` reads)."""
    entries: dict[str, _Entry] = {}
    for file in files:
        entries.update(_read_header(file))
    return entries


def _read_header(file: Path) -> dict[str, _Entry]:
    """The tensors a safetensors file declares; a file shorter than its header says names itself."""
    size = file.stat().st_size
    try:
        with open(file, "rb") as handle:
            (header_len,) = struct.unpack("<Q", handle.read(8))
            if header_len > size - 8:
                raise ValueError(f"header of {header_len} bytes in a {size}-byte file")
            header = json.loads(handle.read(header_len))
    except (struct.error, ValueError, UnicodeDecodeError) as error:
        raise OSError(f"Weights file {file} is corrupted or truncated: {error}") from None
    start = 8 + header_len
    entries = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        if start + end > size:
            raise OSError(
                f"Weights file {file} is corrupted or truncated: tensor {name} ends at byte {start + end}, "
                f"the file has {size}"
            )
        dtype = _SAFETENSORS_DTYPES.get(info["dtype"])
        if dtype is None:
            raise OSError(f"Weights file {file}: tensor {name} has unsupported dtype {info['dtype']}")
        entries[name] = _Entry(file, dtype, tuple(info["shape"]), start + begin, start + end)
    return entries


OUTSIDE_BLOCKS = -1  # the streaming loader's chunk of the tensors outside the blocks (embeddings, final norm, unembedding)


def chunk_of(name: str) -> int:
    """The chunk the streaming loader reads a checkpoint tensor in: its layer, else ``OUTSIDE_BLOCKS``."""
    layer = layer_of(name)
    return OUTSIDE_BLOCKS if layer is None else layer


def layer_of(name: str) -> Optional[int]:
    """The layer a tensor name belongs to: its first all-digit part (``h.3.attn``, ``model.layers.3.``)."""
    for part in name.split("."):
        if part.isdigit():
            return int(part)
    return None
