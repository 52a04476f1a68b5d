"""Activation functions: upstream's names for the table our MLPs use (``components.mlp.ACTIVATIONS``)."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from transformer_lens.components.mlp import ACTIVATIONS as SUPPORTED_ACTIVATIONS
from transformer_lens.components.xielu import XIELU, xielu
from transformer_lens.utils import gelu_fast, gelu_new, solu

ActivationFunction = Callable[[torch.Tensor], torch.Tensor]

__all__ = [
    "ActivationFunction",
    "SUPPORTED_ACTIVATIONS",
    "XIELU",
    "gelu_fast",
    "gelu_new",
    "gelu_pytorch_tanh",
    "relu2",
    "solu",
    "xielu",
]


def gelu_pytorch_tanh(x: torch.Tensor) -> torch.Tensor:
    """torch's tanh-approximated GELU (the same formula as ``gelu_new``, in one fused kernel)."""
    return F.gelu(x, approximate="tanh")


def relu2(x: torch.Tensor) -> torch.Tensor:
    """Squared ReLU, ``relu(x) ** 2``."""
    return F.relu(x).square()

