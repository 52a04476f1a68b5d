"""Streaming a checkpoint into a model built without weights: one layer at a time.

The model is built with its parameters on the ``meta`` device (no memory). The checkpoint is
then converted, processed, cast and placed chunk by chunk: first the tensors outside the blocks
(embeddings, final norm, unembedding: the only ones weight processing needs across layers),
then each block. A family converter works on whole state dicts, so for chunk ``i`` it is run on
a view of the checkpoint whose layer-``i`` tensors are real and all others ``meta`` stand-ins
(shape-only, free); only the chunk's own outputs are kept. Each step of weight processing acts
on one layer's tensors or on the global ones, so processing chunk by chunk gives the same bits
as processing the whole state dict.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from typing import Any, Callable, Iterator, Mapping, Optional

import torch
from torch import nn

from transformer_lens import devices, memory_budget, weight_processing
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.element_overlap import share_elements
from transformer_lens.loading.tensor_source import OUTSIDE_BLOCKS, TensorSource, layer_of
from transformer_lens.loading.weight_memory import PreparedWeightMemory

logger = logging.getLogger(__name__)

Converter = Callable[[Mapping[str, torch.Tensor], HookedTransformerConfig], dict[str, torch.Tensor]]
# A block's weights: ``blocks.{i}.`` (decoders, BERT) or ``encoder.{i}.``/``decoder.{i}.`` (T5).
_BLOCK_KEY = re.compile(r"^(?:blocks|encoder|decoder)\.(\d+)\.")
_GLOBAL = OUTSIDE_BLOCKS


class NotEnoughMemoryError(MemoryError):
    """The weights cannot fit where they were asked to go."""


class _LayerView(Mapping[str, torch.Tensor]):
    """The source as one chunk's converter sees it: that chunk's tensors real, others meta."""

    def __init__(self, source: TensorSource, layer: Optional[int]) -> None:
        self._source, self._layer = source, layer
        self._read: dict[str, torch.Tensor] = {}

    def __getitem__(self, name: str) -> torch.Tensor:
        if self._layer is not None and layer_of(name) != (None if self._layer == _GLOBAL else self._layer):
            return self._source.meta(name)
        if name not in self._read:
            self._read[name] = self._source[name]
        return self._read[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._source)

    def __len__(self) -> int:
        return len(self._source)


# ``parameters_on_meta`` patches ``nn.Module.register_parameter`` for the whole process (the only
# hook every module's parameters pass through), but only the threads inside the block see meta
# parameters: a model built on another thread meanwhile (the sidebar's worker, a second load) is
# built as usual. The patch stays while any thread is inside and is undone by the last one out.
_building_on_meta = threading.local()
_patch_lock = threading.Lock()
_patch_holders = 0
_original_register_parameter = nn.Module.register_parameter


def _register_parameter(module: nn.Module, name: str, param: Optional[nn.Parameter]) -> None:
    if getattr(_building_on_meta, "depth", 0) and param is not None and param.device.type != "meta":
        param = nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)
    _original_register_parameter(module, name, param)


@contextlib.contextmanager
def parameters_on_meta() -> Iterator[None]:
    """Build modules whose parameters live on ``meta`` (buffers such as rotary tables stay real), on this thread."""
    global _patch_holders
    with _patch_lock:
        if _patch_holders == 0:
            nn.Module.register_parameter = _register_parameter  # type: ignore[method-assign, assignment]
        _patch_holders += 1
    _building_on_meta.depth = getattr(_building_on_meta, "depth", 0) + 1
    try:
        yield
    finally:
        _building_on_meta.depth -= 1
        with _patch_lock:
            _patch_holders -= 1
            if _patch_holders == 0:
                nn.Module.register_parameter = _original_register_parameter  # type: ignore[method-assign]


def converted_chunks(
    source: TensorSource, convert: Converter, cfg: HookedTransformerConfig
) -> Iterator[tuple[int, dict[str, torch.Tensor]]]:
    """``(chunk, tensors)``: the global chunk (``-1``) then each block, in TransformerLens names.

    A converter that makes a chunk's output from another layer's tensors (none known) shows up
    as a ``meta`` output; then the whole checkpoint is converted at once instead.
    """
    chunks: list[int] = [_GLOBAL, *range(cfg.n_layers)]
    for chunk in chunks:
        converted = convert(_LayerView(source, chunk), cfg)
        own = {key: value for key, value in converted.items() if _chunk_of(key) == chunk}
        del converted
        if any(value.device.type == "meta" for value in own.values()):
            logger.info("%s: conversion mixes layers; converting the whole checkpoint at once", cfg.original_architecture)
            yield from _whole(source, convert, cfg, done=chunks[: chunks.index(chunk)])
            return
        yield chunk, own


def _whole(source: TensorSource, convert: Converter, cfg: HookedTransformerConfig, done: list[int]) -> Iterator[tuple[int, dict[str, torch.Tensor]]]:
    converted = convert(_LayerView(source, None), cfg)
    for chunk in [_GLOBAL, *range(cfg.n_layers)]:
        own = {key: converted.pop(key) for key in [k for k in converted if _chunk_of(k) == chunk]}
        if chunk not in done:
            yield chunk, own


def _chunk_of(key: str) -> int:
    match = _BLOCK_KEY.match(key)
    return int(match.group(1)) if match else _GLOBAL


def target_device(key: str, cfg: HookedTransformerConfig, move_to_device: bool) -> torch.device:
    """Where a weight goes: its block's device; embeddings with block 0, the unembedding with the last."""
    if not move_to_device:
        return torch.device("cpu")
    chunk = _chunk_of(key)
    if chunk == _GLOBAL:
        last = key.startswith(("unembed.", "ln_final."))
        chunk = cfg.n_layers - 1 if last else 0
    return devices.get_device_for_block_index(chunk, cfg)


def check_memory_fits(
    model: nn.Module, cfg: HookedTransformerConfig, move_to_device: bool, already_on: Optional[torch.device] = None
) -> None:
    """Raise before reading any weight if the model's parameters cannot fit where they go.

    ``already_on``: the device of an ``hf_model`` whose tensors may be reused there, so not counted.
    """
    needed: dict[torch.device, int] = {}
    for name, param in model.named_parameters():
        device = target_device(name, cfg, move_to_device)
        needed[device] = needed.get(device, 0) + param.numel() * param.element_size()
    for device, nbytes in needed.items():
        free = None if device == already_on else free_bytes(device)
        if free is not None and nbytes > free:
            raise NotEnoughMemoryError(
                f"Not enough memory to load {cfg.model_name} in {str(cfg.dtype).removeprefix('torch.')} on {device}: "
                f"the weights need {_size(nbytes)} but only {_size(free)} are free"
                + ("" if device.type == "cpu" else "; try n_devices=k or a device_map, a smaller dtype, or device='cpu'")
            )


def _size(nbytes: int) -> str:
    return f"{nbytes / 2**20:,.1f} MiB ({nbytes:,} bytes)"


def free_bytes(device: torch.device) -> Optional[int]:
    """Free memory on a device (what a new allocation can get), or None where it cannot be known.

    The one measure ``memory_budget.available_bytes`` (run_with_cache and generate use it too).
    """
    return memory_budget.available_bytes(device)


def stream_into_model(
    model: nn.Module,
    chunks: Iterator[tuple[int, dict[str, torch.Tensor]]],
    cfg: HookedTransformerConfig,
    *,
    move_to_device: bool,
    memory: Optional[PreparedWeightMemory] = None,
    **processing: bool,
) -> set[str]:
    """Process, cast, place and assign each chunk into the meta-built ``model``; the names loaded.

    ``memory``: prepared memory that processing writes new weights into where it can.
    Names the first tensor the model has no place for, or whose shape differs from its place.
    """
    own = {name: value.shape for name, value in model.state_dict(keep_vars=True).items()}  # buffers too
    loaded: set[str] = set()
    held = _HeldMemory()
    for chunk, tensors in chunks:
        with weight_processing.writing_weights_into(memory):
            processed = weight_processing.process_state_dict(tensors, cfg, **processing)
        del tensors
        if memory is not None:
            memory.release_chunk(chunk)
        for key, value in processed.items():
            if key not in own:
                raise ValueError(f"Checkpoint does not match the model config: unexpected [{key!r}]")
            if own[key] != value.shape:
                raise ValueError(f"Checkpoint tensor {key} has shape {tuple(value.shape)} but the config implies {tuple(own[key])}")
        placed = {key: held.own(_placed(value, target_device(key, cfg, move_to_device))) for key, value in processed.items()}
        del processed
        model.load_state_dict(placed, strict=False, assign=True)
        loaded.update(placed)
        del placed
    return loaded


def _placed(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    # A weight keeps the layout the checkpoint (or the processing step) gave it: a transposed or
    # per-head view of a Hugging Face [out, in] matrix is what the forward's matmuls take as it is
    # (as nn.Linear does), so no transpose is ever copied.
    return tensor if tensor.device == device else tensor.to(device)


class _HeldMemory:
    """The memory the model's weights hold so far; a weight whose elements another already holds gets its own copy.

    A converter may hand one checkpoint tensor to two weights (tied embeddings: ``W_E`` and
    ``W_U = W_E.T``); TransformerLens keeps such weights apart, so an edit of one never shows in the
    other. Disjoint views of one tensor (GPT-2's fused ``c_attn`` split into Q, K and V) stay views.
    """

    def __init__(self) -> None:
        self._held: dict[tuple[str, int], list[torch.Tensor]] = {}

    def own(self, tensor: torch.Tensor) -> torch.Tensor:
        if tensor.numel() == 0 or tensor.device.type == "meta":
            return tensor
        held = self._held.setdefault((str(tensor.device), tensor.untyped_storage().data_ptr()), [])
        if any(share_elements(tensor, other) for other in held):
            return tensor.clone()  # new memory of its own; clone keeps a dense tensor's layout
        held.append(tensor)
        return tensor


def check_all_loaded(model: nn.Module, loaded: set[str]) -> None:
    """Every weight the model holds came from the checkpoint (as a strict ``load_state_dict``)."""
    missing = [name for name in model.state_dict() if name not in loaded]
    if missing:
        raise ValueError(f"Checkpoint does not match the model config: missing {missing[:5]}")
