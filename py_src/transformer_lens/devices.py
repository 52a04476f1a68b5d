"""Placing blocks across several devices (``cfg.n_devices``), as upstream TransformerLens does."""

from __future__ import annotations

import math
from typing import Optional, Union

import torch

from transformer_lens.config import HookedTransformerConfig


def get_device_for_block_index(
    index: int, cfg: HookedTransformerConfig, device: Optional[Union[str, torch.device]] = None
) -> torch.device:
    """The device of block ``index``: consecutive blocks share a device, ``ceil(n_layers / n_devices)`` each."""
    base = torch.device(device if device is not None else cfg.device)
    if cfg.n_devices <= 1:
        return base
    layers_per_device = math.ceil(cfg.n_layers / cfg.n_devices)
    return torch.device(base.type, (base.index or 0) + index // layers_per_device)


def check_device_count(cfg: HookedTransformerConfig) -> None:
    kind = torch.device(cfg.device).type
    if cfg.n_devices > 1 and kind == "cuda" and cfg.n_devices > torch.cuda.device_count():
        raise ValueError(f"n_devices={cfg.n_devices} but only {torch.cuda.device_count()} CUDA devices are visible")
