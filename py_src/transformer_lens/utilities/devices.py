"""Devices: the default device, moving a model with its config, and the MPS caveat."""

from __future__ import annotations

import os
import warnings
from typing import Any, Protocol, Union

import torch
import torch.nn as nn

from transformer_lens.devices import get_device_for_block_index
from transformer_lens.utilities.multi_gpu import (  # upstream 2.x kept these here
    calculate_available_device_cuda_memory,
    determine_available_memory_for_available_devices,
    get_best_available_cuda_device,
    get_best_available_device,
    sort_devices_based_on_available_memory,
)
from transformer_lens.utils import get_device

__all__ = [
    "ModelWithCfg",
    "calculate_available_device_cuda_memory",
    "determine_available_memory_for_available_devices",
    "get_best_available_cuda_device",
    "get_best_available_device",
    "get_device",
    "get_device_for_block_index",
    "move_to_and_update_config",
    "sort_devices_based_on_available_memory",
    "warn_if_mps",
]


class ModelWithCfg(Protocol):
    """Anything with a ``cfg`` (device, dtype, n_devices...) that can be moved like a module."""

    cfg: Any

    def to(self, *args: Any, **kwargs: Any) -> Any: ...

_warned_about_mps = False


def warn_if_mps(device: Union[str, torch.device]) -> None:
    """Warn once that MPS may give wrong results, unless TRANSFORMERLENS_ALLOW_MPS=1."""
    global _warned_about_mps
    kind = device.type if isinstance(device, torch.device) else device
    if kind != "mps" or _warned_about_mps or os.environ.get("TRANSFORMERLENS_ALLOW_MPS", "") == "1":
        return
    _warned_about_mps = True
    warnings.warn(
        "The MPS backend may give silently wrong results for some operations; "
        "set TRANSFORMERLENS_ALLOW_MPS=1 to silence this warning.",
        UserWarning,
        stacklevel=2,
    )


def move_to_and_update_config(
    model: Any, device_or_dtype: Union[torch.device, str, torch.dtype], print_details: bool = True
) -> Any:
    """``nn.Module.to(model, device_or_dtype)``, recording the new device or dtype in ``model.cfg``."""
    if isinstance(device_or_dtype, torch.dtype):
        model.cfg.dtype = device_or_dtype
        if print_details:
            print("Changing model dtype to", device_or_dtype)
    else:
        warn_if_mps(device_or_dtype)
        model.cfg.device = device_or_dtype.type if isinstance(device_or_dtype, torch.device) else device_or_dtype
        if print_details:
            print("Moving model to device: ", model.cfg.device)
    return nn.Module.to(model, device_or_dtype)
