"""MLP layers: plain and gated (``cfg.gated_mlp``).

``act_fn="solu_ln"`` (the SoLU models) normalises the activations with a LayerNorm over
``d_mlp`` before ``W_out``, as upstream: ``hook_pre -> solu -> hook_mid -> ln -> hook_post``.
"""

from __future__ import annotations

from typing import Callable, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from transformer_lens.components.norms import make_mlp_norm
from transformer_lens.components.xielu import XIELU, xielu
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.errors import CheckFailed
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
    "relu2": lambda x: F.relu(x).square(),
    "solu": solu,
    # "_ln": the activation is followed by hook_mid and a layer norm over d_mlp (SoLU models).
    "solu_ln": solu,
    "gelu_ln": F.gelu,
    "xielu": xielu,  # an MLP gets its own trainable XIELU (select_activation_function)
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
    act_fn: Callable[[torch.Tensor], torch.Tensor]
    hook_mid: Optional[HookPoint]  # only with a "*_ln" activation
    ln: Optional[nn.Module]  # only with a "*_ln" activation

    def __init__(self, cfg: Union[HookedTransformerConfig, dict]) -> None:
        super().__init__()
        self.cfg = HookedTransformerConfig.unwrap(cfg)
        if self.cfg.d_mlp is None:
            raise ValueError("d_mlp must be set in the config to build an MLP layer")
        self.d_mlp = self.cfg.d_mlp
        self.hook_mid = None
        self.ln = None

    def select_activation_function(self) -> None:
        """Set ``act_fn`` from ``cfg.act_fn``; a ``*_ln`` activation also gets ``hook_mid`` and ``ln``."""
        name = self.cfg.act_fn
        if name is None:  # a TransformerLensConfig (upstream's base config) may leave it unset
            raise CheckFailed("act_fn must be specified for a model with MLPs (e.g. act_fn='gelu_new')")
        if name not in ACTIVATIONS:
            raise ValueError(f"act_fn {name!r} is not supported; supported: {', '.join(sorted(ACTIVATIONS))}")
        # A module when the activation has learned parameters (xIELU), so they load with the MLP.
        self.act_fn = XIELU(dtype=self.cfg.dtype) if name == "xielu" else ACTIVATIONS[name]
        if self.cfg.is_layer_norm_activation():
            self.hook_mid = HookPoint()  # [batch, pos, d_mlp]
            self.ln = make_mlp_norm(self.cfg, self.d_mlp)

    def _activate(self, pre: torch.Tensor) -> torch.Tensor:
        post = self.act_fn(pre)
        if self.ln is not None:
            post = self.ln(self.hook_mid(post))  # type: ignore[misc]
        return post


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
        self.select_activation_function()
        self.hook_pre = HookPoint()  # [batch, pos, d_mlp]
        if self.gated:
            self.hook_pre_linear = HookPoint()  # [batch, pos, d_mlp]
        self.hook_post = HookPoint()  # [batch, pos, d_mlp]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``"batch pos d_model" -> "batch pos d_model"``."""
        if self.gated:
            gate = self.hook_pre(torch.matmul(x, self.W_gate))
            linear = self.hook_pre_linear(_linear(x, self.W_in, self.b_in))
            post = self.hook_post(self._activate(gate) * linear)
        else:
            post = self.hook_post(self._activate(self.hook_pre(_linear(x, self.W_in, self.b_in))))
        return _linear(post, self.W_out, self.b_out)


class GatedMLP(MLP):
    """``(act(x @ W_gate) * (x @ W_in + b_in)) @ W_out + b_out`` (LLaMA-style); ``hook_pre`` sees the gate,
    ``hook_pre_linear`` the linear branch."""

    gated = True


def make_mlp(cfg: HookedTransformerConfig) -> CanBeUsedAsMLP:
    """The MLP layer the config asks for: a mixture of experts when it names experts, else gated
    when ``cfg.gated_mlp``, else plain."""
    if cfg.num_experts:
        from transformer_lens.components.mlps.moe import MoE  # imports this module

        return MoE(cfg)
    return GatedMLP(cfg) if cfg.gated_mlp else MLP(cfg)
