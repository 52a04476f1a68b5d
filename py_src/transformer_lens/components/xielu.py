"""xIELU (arXiv:2411.13010): a parabola for positive inputs, an ELU-like curve for negative ones.

``XIELU`` learns ``alpha_p`` and ``alpha_n`` (stored through softplus, as Hugging Face's XIELUActivation
stores them); ``xielu`` uses the default constants.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def _xielu(x: torch.Tensor, alpha_p: torch.Tensor, alpha_n: torch.Tensor, beta: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    negative = (torch.expm1(torch.minimum(x, eps)) - x) * alpha_n + beta * x
    return torch.where(x > 0, alpha_p * x * x + beta * x, negative)


def xielu(x: torch.Tensor) -> torch.Tensor:
    """xIELU with its default constants (alpha_p = alpha_n = 0.8, beta = 0.5)."""
    constant = lambda value: torch.tensor(value, dtype=x.dtype, device=x.device)  # noqa: E731
    return _xielu(x, constant(0.8), constant(0.8), constant(0.5), constant(-1e-6))


class XIELU(nn.Module):
    """xIELU with trainable ``alpha_p`` and ``alpha_n`` (``alpha_n`` as its excess over ``beta``);
    ``beta`` and ``eps`` are buffers."""

    def __init__(self, alpha_p_init: float = 0.8, alpha_n_init: float = 0.8, beta_init: float = 0.5, eps: float = -1e-6) -> None:
        super().__init__()
        # softplus^-1; alpha_n_init == beta_init gives -inf, which softplus maps back to exactly 0.
        inverse_softplus = lambda value: torch.log(torch.expm1(torch.tensor(value, dtype=torch.float32)))  # noqa: E731
        self.alpha_p = nn.Parameter(inverse_softplus(alpha_p_init))
        self.alpha_n = nn.Parameter(inverse_softplus(alpha_n_init - beta_init))
        self.register_buffer("beta", torch.tensor(beta_init))
        self.register_buffer("eps", torch.tensor(eps))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``"... d_mlp" -> "... d_mlp"``."""
        return _xielu(x, F.softplus(self.alpha_p), self.beta + F.softplus(self.alpha_n), self.beta, self.eps)
