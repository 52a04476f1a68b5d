"""Devices: the default device, moving a model with its config, and the MPS caveat."""

from __future__ import annotations

import os
import warnings
from typing import Any, Optional, Protocol, Union, runtime_checkable

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


@runtime_checkable
class ModelWithCfg(Protocol):
    """Anything with a ``cfg`` (device, dtype, n_devices...) that can be moved like a module."""

    cfg: Any

    def to(self, *args: Any, **kwargs: Any) -> Any: ...

# MPS gives silently wrong results in some torch versions. None: no torch version is known to be safe yet.
_MPS_MIN_SAFE_TORCH_VERSION: Optional[tuple[int, ...]] = None
# torch 2.8 on MPS: F.linear on non-contiguous inputs is wrong (pytorch#161640; TransformerLens#1062).
_MPS_BROKEN_TORCH_VERSIONS: tuple[tuple[int, ...], ...] = ((2, 8),)
_mps_warned = False
_mps_broken_torch_warned = False


def _torch_version_tuple() -> tuple[int, ...]:
    """``(major, minor)`` of the running torch."""
    major, minor = torch.__version__.split("+")[0].split(".")[:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)


def warn_if_mps(device: Union[str, torch.device]) -> None:
    """Warn, once per process, that the MPS backend may give wrong results.

    Silenced by TRANSFORMERLENS_ALLOW_MPS=1 or a torch at least ``_MPS_MIN_SAFE_TORCH_VERSION``. A torch version
    with a known MPS bug (``_MPS_BROKEN_TORCH_VERSIONS``) is always reported, once.
    """
    global _mps_warned, _mps_broken_torch_warned
    kind = device.type if isinstance(device, torch.device) else device
    if kind != "mps":
        return
    version = _torch_version_tuple()
    if version[:2] in _MPS_BROKEN_TORCH_VERSIONS and not _mps_broken_torch_warned:
        _mps_broken_torch_warned = True
        warnings.warn(
            f"PyTorch {torch.__version__} has a known MPS bug that produces silently incorrect results "
            "(F.linear on non-contiguous tensors; https://github.com/TransformerLensOrg/TransformerLens/issues/1062): "
            "upgrade torch before using MPS.",
            UserWarning,
            stacklevel=2,
        )
    if _mps_warned or os.environ.get("TRANSFORMERLENS_ALLOW_MPS", "") == "1":
        return
    if _MPS_MIN_SAFE_TORCH_VERSION is not None and version >= _MPS_MIN_SAFE_TORCH_VERSION:
        return
    _mps_warned = True
    warnings.warn(
        f"MPS backend may produce silently incorrect results (PyTorch {torch.__version__}); "
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
