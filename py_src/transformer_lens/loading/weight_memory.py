"""Memory for the weights a load will write, made ready on a second thread while the config is read.

Reading a checkpoint's config imports transformers' model code: on a fresh interpreter about a
second of one core's Python (Llama's), while the other cores wait. Weight processing then writes
new weights (norms folded into the readers, the centred unembedding, casts), and every page of
them is fresh memory: the first write to a page costs a fault and a page the kernel zeroes. For a
bfloat16 Llama-3.2-1B that is most of the processing time (the norm folds: 0.69 s on fresh pages,
0.25 s on touched ones, measured on the 2-core development machine).

So while the config is read, a second thread allocates, for each checkpoint tensor, a buffer in
the model's dtype and the tensor's shape, and touches one byte per page of it. Processing then
writes a weight computed from a checkpoint tensor (``W_Q``, a per-head view of ``q_proj.weight``)
into that tensor's buffer, seen with the weight's shape and strides, so the weight has the layout
it would have had and only its pages are new. Only a weight that is a whole checkpoint tensor
takes its buffer: a part of one (GPT-2's Q slice of ``c_attn``, a context cut from ``W_pos``)
gets memory of its own, as before, so no weight keeps a larger buffer alive. A buffer is taken
once: a second weight computed from the same tensor (a tied embedding cast twice) gets new memory.

Which tensors processing rewrites is known only once the config is read, so the thread prepares
every floating tensor of at least ``MIN_BYTES``, in the order the streaming loader reads them
(outside the blocks first, then block by block), within a memory budget, and stops as soon as the
config is read. Buffers no weight took are freed once their layer is loaded.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Optional

import torch

from transformer_lens import memory_budget
from transformer_lens.loading import tensor_source

MIN_BYTES = 2**20  # smaller weights come from the allocator's own reused memory anyway
_PAGE = 4096


class _Buffer:
    __slots__ = ("tensor", "chunk", "taken")

    def __init__(self, tensor: torch.Tensor, chunk: int) -> None:
        self.tensor, self.chunk = tensor, chunk
        self.taken = False


class PreparedWeightMemory:
    """Buffers for a checkpoint's weights in ``dtype``, filled by a thread until ``stop_preparing``.

    Call as ``memory(like, dtype)`` (``weight_processing.writing_weights_into``); ``release_chunk``
    after each loaded chunk, ``close`` at the end (also on errors). Thread-safe.
    """

    def __init__(self, files: list[Path], dtype: torch.dtype, budget_bytes: int, rewrite_same_dtype: bool) -> None:
        self.dtype = dtype
        self._files = {Path(file) for file in files}
        self._buffers: dict[str, _Buffer] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.prepared_bytes = 0
        self.taken_bytes = 0
        self._thread = threading.Thread(
            target=self._prepare, args=(list(files), budget_bytes, rewrite_same_dtype), name="lenslab-weight-memory", daemon=True
        )
        self._thread.start()

    def _prepare(self, files: list[Path], budget_bytes: int, rewrite_same_dtype: bool) -> None:
        try:
            entries = tensor_source.read_entries(files)
        except OSError:
            return  # the loader reports a damaged file itself, where it always has
        itemsize = self.dtype.itemsize
        # What may be prepared: free memory less the whole model's, so a load that takes none still fits.
        budget_bytes -= sum(_numel(entry.shape) * itemsize for entry in entries.values())
        for name in sorted(entries, key=_stream_order):
            entry = entries[name]
            nbytes = _numel(entry.shape) * itemsize
            if self._stop.is_set():
                return
            if not entry.dtype.is_floating_point or nbytes < MIN_BYTES or nbytes > budget_bytes:
                continue
            if entry.dtype == self.dtype and not rewrite_same_dtype:
                continue
            try:
                buffer = torch.empty(entry.shape, dtype=self.dtype)
                # One write a page faults every page in (one torch call: the GIL is free meanwhile).
                buffer.view(-1).view(torch.uint8)[::_PAGE].zero_()
            except (RuntimeError, MemoryError):
                return  # memory ran short after all: the load allocates the rest itself, as without this
            with self._lock:
                self._buffers[name] = _Buffer(buffer, tensor_source.chunk_of(name))
                self.prepared_bytes += nbytes
            budget_bytes -= nbytes

    def stop_preparing(self) -> None:
        """End the thread's work (it finishes the buffer in hand) and wait for it."""
        self._stop.set()
        self._thread.join()

    def finish_preparing(self) -> None:
        """Wait until every buffer the budget allows is ready (tests: the same load, fully prepared)."""
        self._thread.join()

    def __call__(self, like: torch.Tensor, dtype: torch.dtype) -> Optional[torch.Tensor]:
        """A prepared tensor with ``like``'s shape and strides, if ``like`` views a checkpoint tensor with a buffer."""
        origin = tensor_source.mapped_origin(like)
        if origin is None or dtype != self.dtype:
            return None
        file, name, first = origin
        with self._lock:
            buffer = self._buffers.get(name) if Path(file) in self._files else None
            if buffer is None:
                return None
            # Only a weight that is the whole checkpoint tensor (in some layout, so with no gap) takes
            # its buffer: a part (a context cut from W_pos, one of fused Q/K/V rows) would keep all
            # of it alive, and a view with gaps is cast into a dense tensor elsewhere.
            numel = buffer.tensor.numel()
            last = first + sum((size - 1) * stride for size, stride in zip(like.shape, like.stride()))
            if like.numel() != numel or first != 0 or last != numel - 1 or any(stride < 0 for stride in like.stride()):
                return None
            if buffer.taken:
                return None  # that memory already holds another weight (a tied embedding cast twice)
            buffer.taken = True
            self.taken_bytes += numel * buffer.tensor.element_size()
            return buffer.tensor.view(-1).as_strided(like.shape, like.stride(), 0)

    def release_chunk(self, chunk: int) -> None:
        """Forget the buffers of a loaded chunk: one no weight took is freed now."""
        with self._lock:
            for name in [name for name, buffer in self._buffers.items() if buffer.chunk == chunk]:
                del self._buffers[name]

    def close(self) -> None:
        self.stop_preparing()
        with self._lock:
            self._buffers.clear()


def prepare(files: list[Path], dtype: torch.dtype, rewrite_same_dtype: bool) -> PreparedWeightMemory:
    """Start preparing memory for the weights of ``files`` loaded in ``dtype`` (casts only, unless
    ``rewrite_same_dtype``). The budget leaves room for the whole model even if nothing is taken."""
    available = memory_budget.available_bytes(torch.device("cpu"))
    return PreparedWeightMemory(files, dtype, 0 if available is None else available, rewrite_same_dtype)


def _stream_order(name: str) -> tuple[int, str]:
    return tensor_source.chunk_of(name), name


def _numel(shape: tuple[int, ...]) -> int:
    count = 1
    for size in shape:
        count *= size
    return count
