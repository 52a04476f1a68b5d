"""Activation functions: upstream's names for the table our MLPs use (``components.mlp.ACTIVATIONS``)."""

from __future__ import annotations

from typing import Callable

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from transformer_lens.components.mlp import ACTIVATIONS as SUPPORTED_ACTIVATIONS
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


def _xielu(x: torch.Tensor, alpha_p: torch.Tensor, alpha_n: torch.Tensor, beta: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    # Positive side: a parabola; negative side: an ELU-like curve with a linear term (arXiv:2411.13010).
    negative = (torch.expm1(torch.minimum(x, eps)) - x) * alpha_n + beta * x
    return torch.where(x > 0, alpha_p * x * x + beta * x, negative)


def xielu(x: torch.Tensor) -> torch.Tensor:
    """xIELU with its default constants (alpha_p = alpha_n = 0.8, beta = 0.5); ``XIELU`` learns them."""
    constant = lambda value: torch.tensor(value, dtype=x.dtype, device=x.device)  # noqa: E731
    return _xielu(x, constant(0.8), constant(0.8), constant(0.5), constant(-1e-6))


class XIELU(nn.Module):
    """xIELU with trainable ``alpha_p`` and ``alpha_n``, stored as Hugging Face's XIELUActivation stores them:
    through softplus (``alpha_n`` as the excess over ``beta``); ``beta`` and ``eps`` are buffers."""

    def __init__(self, alpha_p_init: float = 0.8, alpha_n_init: float = 0.8, beta_init: float = 0.5, eps: float = -1e-6) -> None:
        super().__init__()
        inverse_softplus = lambda value: math.log(math.expm1(value))  # noqa: E731
        self.alpha_p = nn.Parameter(torch.tensor(inverse_softplus(alpha_p_init)))
        self.alpha_n = nn.Parameter(torch.tensor(inverse_softplus(alpha_n_init - beta_init)))
        self.register_buffer("beta", torch.tensor(beta_init))
        self.register_buffer("eps", torch.tensor(eps))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``"... d_mlp" -> "... d_mlp"``."""
        alpha_p = F.softplus(self.alpha_p)
        alpha_n = self.beta + F.softplus(self.alpha_n)
        return _xielu(x, alpha_p, alpha_n, self.beta, self.eps)
