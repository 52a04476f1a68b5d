"""Choosing CUDA devices by free memory, and where blocks go when a model spans several devices."""

from __future__ import annotations

from typing import Any, Optional

import torch

from transformer_lens.devices import get_device_for_block_index

AvailableDeviceMemory = list[tuple[int, int]]
"""``(cuda index, free bytes)`` per device."""

__all__ = [
    "AvailableDeviceMemory",
    "calculate_available_device_cuda_memory",
    "count_unique_devices",
    "determine_available_memory_for_available_devices",
    "find_embedding_device",
    "get_best_available_cuda_device",
    "get_best_available_device",
    "get_device_for_block_index",
    "sort_devices_based_on_available_memory",
]


def calculate_available_device_cuda_memory(i: int) -> int:
    """Bytes on CUDA device ``i`` that torch has not allocated."""
    return torch.cuda.get_device_properties(i).total_memory - torch.cuda.memory_allocated(i)


def determine_available_memory_for_available_devices(max_devices: int) -> AvailableDeviceMemory:
    """``(index, free bytes)`` for CUDA devices ``0 .. max_devices-1``."""
    return [(i, calculate_available_device_cuda_memory(i)) for i in range(max_devices)]


def sort_devices_based_on_available_memory(devices: AvailableDeviceMemory) -> AvailableDeviceMemory:
    """Most free memory first."""
    return sorted(devices, key=lambda device: device[1], reverse=True)


def get_best_available_cuda_device(max_devices: Optional[int] = None) -> torch.device:
    """The CUDA device (among the first ``max_devices``) with the most free memory."""
    count = torch.cuda.device_count() if max_devices is None else max_devices
    devices = determine_available_memory_for_available_devices(count)
    if not devices:
        raise EnvironmentError("CUDA was asked for, but no CUDA device is available")
    return torch.device("cuda", sort_devices_based_on_available_memory(devices)[0][0])


def get_best_available_device(cfg: Any) -> torch.device:
    """``cfg.device``, or with several CUDA devices (``cfg.n_devices > 1``) the one with most free memory."""
    device = torch.device(cfg.device)
    if device.type == "cuda" and cfg.n_devices > 1:
        return get_best_available_cuda_device(cfg.n_devices)
    return device


def count_unique_devices(hf_model: Any) -> int:
    """How many devices a Hugging Face model's ``hf_device_map`` spreads it over (1 without a map)."""
    device_map = getattr(hf_model, "hf_device_map", None)
    return len(set(device_map.values())) if device_map else 1


def find_embedding_device(hf_model: Any) -> Optional[torch.device]:
    """The device of a dispatched Hugging Face model's input embeddings; None when it has no device map."""
    device_map = getattr(hf_model, "hf_device_map", None)
    if not device_map:
        return None
    embeddings = hf_model.get_input_embeddings() if hasattr(hf_model, "get_input_embeddings") else None
    parameter = next(embeddings.parameters(), None) if embeddings is not None else None
    if parameter is not None:
        return parameter.device
    first = next(iter(device_map.values()))
    return torch.device("cuda", first) if isinstance(first, int) else torch.device(first)
