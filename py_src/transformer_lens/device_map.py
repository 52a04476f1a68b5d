"""``device_map``: which device each block lives on, given per block rather than as ``n_devices``.

Accepted forms (the result is always one device name per block, ``cfg.device_map``):

- a dict from block to device: keys are block indices (``3``) or names (``"blocks.3"``), values
  device names (``"cuda:1"``), ``torch.device`` or CUDA indices (``1``); every block exactly once;
- a list or tuple with one device per block;
- ``"auto"``: the blocks split over every visible CUDA device in consecutive groups (as
  ``n_devices`` does), or all on the CPU where there is none.

The embeddings live with block 0 and the final norm and unembedding with the last block, as with
``n_devices``; the forward moves the residual stream to each block's device.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence, Union

import torch

DeviceMapSpec = Union[str, Mapping[Any, Any], Sequence[Any]]
_BLOCK_NAME = re.compile(r"^(?:blocks\.)?(\d+)$")


def resolve_device_map(device_map: DeviceMapSpec, n_layers: int) -> list[str]:
    """One device name per block, from any accepted form; a one-line ``ValueError`` for anything else."""
    if isinstance(device_map, str):
        if device_map != "auto":
            raise ValueError(f"device_map must be 'auto', a dict from block to device or a list of devices; got {device_map!r}")
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            return ["cpu"] * n_layers
        return [f"cuda:{device_group(index, count, n_layers)}" for index in range(n_layers)]
    if isinstance(device_map, Mapping):
        by_block: dict[int, str] = {}
        for key, value in device_map.items():
            block = _block_index(key, n_layers)
            if block in by_block:
                raise ValueError(f"device_map names block {block} twice")
            by_block[block] = _device_name(value, f"block {block}")
        missing = [block for block in range(n_layers) if block not in by_block]
        if missing:
            raise ValueError(f"device_map leaves blocks {missing} without a device (the model has {n_layers} blocks)")
        return [by_block[block] for block in range(n_layers)]
    if isinstance(device_map, (list, tuple)):
        if len(device_map) != n_layers:
            raise ValueError(f"device_map lists {len(device_map)} devices but the model has {n_layers} blocks")
        return [_device_name(value, f"block {block}") for block, value in enumerate(device_map)]
    raise ValueError(f"device_map must be 'auto', a dict from block to device or a list of devices; got {type(device_map).__name__}")


def device_group(index: int, n_devices: int, n_layers: int) -> int:
    """Which of ``n_devices`` block ``index`` goes to: consecutive blocks together, the groups'
    sizes differing by at most one (upstream 3.9's ``index * n_devices // n_layers``)."""
    return index * n_devices // n_layers


def _block_index(key: Any, n_layers: int) -> int:
    if isinstance(key, bool):
        raise ValueError(f"device_map key {key!r} is not a block (use 3 or 'blocks.3')")
    match = _BLOCK_NAME.match(str(key)) if isinstance(key, (int, str)) else None
    if match is None:
        raise ValueError(f"device_map key {key!r} is not a block (use 3 or 'blocks.3')")
    block = int(match.group(1))
    if block >= n_layers:
        raise ValueError(f"device_map names block {block} but the model has {n_layers} blocks (0 to {n_layers - 1})")
    return block


def _device_name(value: Any, where: str) -> str:
    try:
        device = torch.device(f"cuda:{value}" if isinstance(value, int) and not isinstance(value, bool) else value)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device_map gives {where} the device {value!r}, which torch does not know: {error}") from None
    return str(device)
