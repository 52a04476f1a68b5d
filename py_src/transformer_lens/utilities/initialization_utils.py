"""Weight initialisation in TransformerLens's weight layout (``d_in d_out``, ``head_index d_model d_head``).

torch's ``nn.init`` assumes ``d_out d_in``; these compute fan in/out for our layout, then draw in place.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn as nn

NonlinearityType = Literal[
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "sigmoid", "tanh", "relu", "leaky_relu", "selu",
]  # fmt: skip


def calc_fan_in_and_fan_out(tensor: torch.Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)``: ``[d]`` -> ``(1, d)``; ``[d_in, d_out]``; ``[head_index, d_model, d_head]`` -> ``(d_model, head_index * d_head)``.

    >>> calc_fan_in_and_fan_out(torch.empty(4, 16, 8))
    (16, 32)
    """
    shape = tensor.shape
    if len(shape) == 1:
        return 1, shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) == 3:
        return shape[1], shape[0] * shape[2]
    if len(shape) == 0:
        raise ValueError("Fan in and fan out cannot be computed for a scalar")
    raise ValueError(f"Fan in and fan out cannot be computed for a tensor of shape {tuple(shape)}")


def init_xavier_uniform_(param: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """Uniform on ``±gain * sqrt(6 / (fan_in + fan_out))``, in place."""
    fan_in, fan_out = calc_fan_in_and_fan_out(param)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return nn.init.uniform_(param, -bound, bound)


def init_xavier_normal_(param: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """Normal with std ``gain * sqrt(2 / (fan_in + fan_out))``, in place."""
    fan_in, fan_out = calc_fan_in_and_fan_out(param)
    return nn.init.normal_(param, mean=0.0, std=gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_std(param: torch.Tensor, a: float, nonlinearity: str, gain: float, mode: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calc_fan_in_and_fan_out(param)
    fan = fan_in if mode == "fan_in" else fan_out
    return gain * nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)  # type: ignore[arg-type]


def init_kaiming_uniform_(
    param: torch.Tensor, a: float = 0, nonlinearity: NonlinearityType = "relu", gain: float = 1.0, mode: str = "fan_in"
) -> torch.Tensor:
    """Uniform with std ``gain * calculate_gain(nonlinearity, a) / sqrt(fan)`` (bound ``sqrt(3) * std``), in place."""
    bound = math.sqrt(3.0) * _kaiming_std(param, a, nonlinearity, gain, mode)
    return nn.init.uniform_(param, -bound, bound)


def init_kaiming_normal_(
    param: torch.Tensor, a: float = 0, nonlinearity: NonlinearityType = "relu", gain: float = 1.0, mode: str = "fan_in"
) -> torch.Tensor:
    """Normal with std ``gain * calculate_gain(nonlinearity, a) / sqrt(fan)``, in place."""
    return nn.init.normal_(param, mean=0.0, std=_kaiming_std(param, a, nonlinearity, gain, mode))
