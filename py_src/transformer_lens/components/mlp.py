"""MLP layers: plain and gated (``cfg.gated_mlp``).

``act_fn="solu_ln"`` (the SoLU models) normalises the activations with a LayerNorm over
``d_mlp`` before ``W_out``, as upstream: ``hook_pre -> solu -> hook_mid -> ln -> hook_post``.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from transformer_lens.components.norms import make_mlp_norm
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.hook_points import HookPoint


def _gelu_fast(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * x * (1.0 + torch.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)))


def solu(x: torch.Tensor) -> torch.Tensor:
    """Softmax linear unit: ``x * softmax(x)`` over the neurons (https://transformer-circuits.pub/2022/solu)."""
    return x * F.softmax(x, dim=-1)


ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu,
    "gelu": F.gelu,
    # gelu_new is GPT-2's tanh approximation; torch's fused kernel computes the same formula.
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_fast": _gelu_fast,
    "silu": F.silu,
    "swish": F.silu,
    "tanh": torch.tanh,
    "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x),
    "solu": solu,
    "solu_ln": solu,  # followed by the MLP's own LayerNorm (``MLP.ln``)
}


class XIELU(nn.Module):
    """xIELU (Apertus): a learned quadratic for x > 0 and an ELU-like branch below.

    ``alpha_p``/``alpha_n`` are stored before softplus, and ``beta`` as is, like Hugging Face's
    XIELUActivation, under upstream's names (``mlp.act_fn.alpha_p``...).
    """

    def __init__(self, cfg: HookedTransformerConfig, alpha_p: float = 0.8, alpha_n: float = 0.8, beta: float = 0.5) -> None:
        super().__init__()
        inverse_softplus = lambda value: torch.log(torch.expm1(torch.tensor(value, dtype=torch.float32)))  # noqa: E731
        self.alpha_p = nn.Parameter(inverse_softplus(alpha_p).reshape(1).to(cfg.dtype))
        self.alpha_n = nn.Parameter(inverse_softplus(alpha_n - beta).reshape(1).to(cfg.dtype))
        self.beta = nn.Parameter(torch.tensor(beta, dtype=cfg.dtype), requires_grad=False)
        self.eps = -1e-6

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        alpha_p = F.softplus(self.alpha_p)
        alpha_n = self.beta + F.softplus(self.alpha_n)
        negative = (torch.expm1(torch.clamp(x, max=self.eps)) - x) * alpha_n + self.beta * x
        return torch.where(x > 0, alpha_p * x * x + self.beta * x, negative)


def is_layer_norm_activation(cfg: HookedTransformerConfig) -> bool:
    """Activations named ``*_ln`` carry a LayerNorm over d_mlp inside the MLP (upstream's convention)."""
    return cfg.act_fn is not None and cfg.act_fn.endswith("_ln")


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    flat = torch.addmm(bias, x.reshape(-1, x.shape[-1]), weight)
    return flat.view(*x.shape[:-1], -1)


class MLP(nn.Module):
    def __init__(self, cfg: HookedTransformerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d_mlp = cfg.d_mlp or 4 * cfg.d_model
        self.W_in = nn.Parameter(torch.empty(cfg.d_model, d_mlp, dtype=cfg.dtype))
        self.b_in = nn.Parameter(torch.zeros(d_mlp, dtype=cfg.dtype))
        if cfg.gated_mlp:
            self.W_gate = nn.Parameter(torch.empty(cfg.d_model, d_mlp, dtype=cfg.dtype))
        self.W_out = nn.Parameter(torch.empty(d_mlp, cfg.d_model, dtype=cfg.dtype))
        self.b_out = nn.Parameter(torch.zeros(cfg.d_model, dtype=cfg.dtype))
        # A module when the activation has learned parameters (xIELU), so they load with the MLP.
        self.act_fn = XIELU(cfg) if cfg.act_fn == "xielu" else ACTIVATIONS[cfg.act_fn or "gelu"]
        self.hook_pre = HookPoint()  # [batch, pos, d_mlp]
        if cfg.gated_mlp:
            self.hook_pre_linear = HookPoint()  # [batch, pos, d_mlp]
        self.hook_post = HookPoint()  # [batch, pos, d_mlp]
        if is_layer_norm_activation(cfg):
            self.hook_mid = HookPoint()  # [batch, pos, d_mlp]
            self.ln = make_mlp_norm(cfg, d_mlp)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``"batch pos d_model" -> "batch pos d_model"``."""
        if self.cfg.gated_mlp:
            gate = self.hook_pre(torch.matmul(x, self.W_gate))
            linear = self.hook_pre_linear(_linear(x, self.W_in, self.b_in))
            post = self.hook_post(self.act_fn(gate) * linear)
        elif is_layer_norm_activation(self.cfg):
            mid = self.hook_mid(self.act_fn(self.hook_pre(_linear(x, self.W_in, self.b_in))))
            post = self.hook_post(self.ln(mid))
        else:
            post = self.hook_post(self.act_fn(self.hook_pre(_linear(x, self.W_in, self.b_in))))
        return _linear(post, self.W_out, self.b_out)
