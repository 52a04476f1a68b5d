"""Placing blocks across several devices: ``cfg.n_devices`` (as upstream TransformerLens does) or ``cfg.device_map``."""

from __future__ import annotations

from typing import Optional, Union

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.device_map import device_group


def get_device_for_block_index(
    index: int, cfg: HookedTransformerConfig, device: Optional[Union[str, torch.device]] = None
) -> torch.device:
    """The device of block ``index``: ``cfg.device_map``'s entry when there is one; else consecutive
    blocks share a device, and the devices' counts of blocks differ by at most one
    (``index * n_devices // n_layers``, as upstream 3.9). ``cfg`` may be any object with upstream's
    fields (``n_devices``, ``n_layers``, ``device``): code written for upstream passes stand-ins
    without ``device_map``."""
    device_map = getattr(cfg, "device_map", None)
    if device_map is not None:
        return torch.device(device_map[index])
    base = torch.device(device if device is not None else cfg.device)
    if cfg.n_devices <= 1:
        return base
    return torch.device(base.type, (base.index or 0) + device_group(index, cfg.n_devices, cfg.n_layers))


def check_device_count(cfg: HookedTransformerConfig) -> None:
    """Refuse, before anything is placed, a split over more CUDA devices than are visible."""
    if cfg.device_map is not None:
        wanted = [torch.device(name) for name in cfg.device_map]
        missing = sorted({str(d) for d in wanted if d.type == "cuda" and (d.index or 0) >= torch.cuda.device_count()})
        if missing:
            raise ValueError(f"device_map uses {', '.join(missing)} but only {torch.cuda.device_count()} CUDA devices are visible")
        return
    kind = torch.device(cfg.device).type
    if cfg.n_devices > 1 and kind == "cuda" and cfg.n_devices > torch.cuda.device_count():
        raise ValueError(f"n_devices={cfg.n_devices} but only {torch.cuda.device_count()} CUDA devices are visible")
