"""MLP layers: plain and gated (``cfg.gated_mlp``)."""

from __future__ import annotations

from typing import Callable, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.hook_points import HookPoint


def _gelu_fast(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * x * (1.0 + torch.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)))


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
}


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    flat = torch.addmm(bias, x.reshape(-1, x.shape[-1]), weight)
    return flat.view(*x.shape[:-1], -1)


class CanBeUsedAsMLP(nn.Module):
    """What every MLP-like layer is: ``"batch pos d_model" -> "batch pos d_model"``, built from a config.

    Upstream's name for the common base of its MLP layers; code outside (sae-lens) types against it.
    """

    cfg: HookedTransformerConfig
    d_mlp: int

    def __init__(self, cfg: Union[HookedTransformerConfig, dict]) -> None:
        super().__init__()
        self.cfg = HookedTransformerConfig.unwrap(cfg)
        self.d_mlp = self.cfg.d_mlp or 4 * self.cfg.d_model


class MLP(CanBeUsedAsMLP):
    """``act(x @ W_in + b_in) @ W_out + b_out``; ``hook_pre`` sees the pre-activation, ``hook_post`` the activation."""

    gated = False

    def __init__(self, cfg: Union[HookedTransformerConfig, dict]) -> None:
        super().__init__(cfg)
        cfg, d_mlp = self.cfg, self.d_mlp
        self.W_in = nn.Parameter(torch.empty(cfg.d_model, d_mlp, dtype=cfg.dtype))
        self.b_in = nn.Parameter(torch.zeros(d_mlp, dtype=cfg.dtype))
        if self.gated:
            self.W_gate = nn.Parameter(torch.empty(cfg.d_model, d_mlp, dtype=cfg.dtype))
        self.W_out = nn.Parameter(torch.empty(d_mlp, cfg.d_model, dtype=cfg.dtype))
        self.b_out = nn.Parameter(torch.zeros(cfg.d_model, dtype=cfg.dtype))
        act_fn = cfg.act_fn or "gelu"
        if act_fn not in ACTIVATIONS:
            raise ValueError(f"act_fn {act_fn!r} is not supported; supported: {', '.join(sorted(ACTIVATIONS))}")
        self.act_fn = ACTIVATIONS[act_fn]
        self.hook_pre = HookPoint()  # [batch, pos, d_mlp]
        if self.gated:
            self.hook_pre_linear = HookPoint()  # [batch, pos, d_mlp]
        self.hook_post = HookPoint()  # [batch, pos, d_mlp]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``"batch pos d_model" -> "batch pos d_model"``."""
        if self.gated:
            gate = self.hook_pre(torch.matmul(x, self.W_gate))
            linear = self.hook_pre_linear(_linear(x, self.W_in, self.b_in))
            post = self.hook_post(self.act_fn(gate) * linear)
        else:
            post = self.hook_post(self.act_fn(self.hook_pre(_linear(x, self.W_in, self.b_in))))
        return _linear(post, self.W_out, self.b_out)


class GatedMLP(MLP):
    """``(act(x @ W_gate) * (x @ W_in + b_in)) @ W_out + b_out`` (LLaMA-style); ``hook_pre`` sees the gate,
    ``hook_pre_linear`` the linear branch."""

    gated = True


def make_mlp(cfg: HookedTransformerConfig) -> MLP:
    """The MLP layer the config asks for: gated when ``cfg.gated_mlp``."""
    return GatedMLP(cfg) if cfg.gated_mlp else MLP(cfg)
