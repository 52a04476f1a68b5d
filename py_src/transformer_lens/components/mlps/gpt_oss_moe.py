"""Upstream's ``components.mlps.gpt_oss_moe``: gpt-oss's MoE with ``nn.Linear`` router and experts.

LensLab's models run gpt-oss with its one MoE class (``components.mlps.moe.MoE``,
``cfg.moe_style="gpt_oss"``, plain ``[in, out]`` weight tensors). These classes keep upstream's
layout (``W_gate``/``W_in``/``W_out`` as ``nn.Linear`` with biases) for code and checkpoints written
against it; the expert's activation is the same function (``moe.gpt_oss_glu``).
"""

from __future__ import annotations

from typing import Union

import torch
import torch.nn as nn

from transformer_lens.components.mlps.moe import gpt_oss_glu
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.hook_points import HookPoint

GPT_OSS_ALPHA = 1.702  # the sigmoid's slope in gpt-oss's GLU
GPT_OSS_LIMIT = 7.0  # gate and up projections are clamped to this


class GptOssExpert(nn.Module):
    """``W_out(gpt_oss_glu(W_gate(x), W_in(x)))``; ``"... d_model" -> "... d_model"``."""

    def __init__(self, cfg: Union[dict, HookedTransformerConfig]) -> None:
        super().__init__()
        self.cfg = cfg = HookedTransformerConfig.unwrap(cfg)
        self.W_gate = nn.Linear(cfg.d_model, cfg.d_mlp, bias=True, dtype=cfg.dtype)
        self.W_in = nn.Linear(cfg.d_model, cfg.d_mlp, bias=True, dtype=cfg.dtype)
        self.W_out = nn.Linear(cfg.d_mlp, cfg.d_model, bias=True, dtype=cfg.dtype)
        self.hook_gate = HookPoint()
        self.hook_pre = HookPoint()
        self.hook_post = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, pre = self.hook_gate(self.W_gate(x)), self.hook_pre(self.W_in(x))
        return self.W_out(self.hook_post(gpt_oss_glu(gate, pre, GPT_OSS_ALPHA, GPT_OSS_LIMIT)))


class GptOssMoE(nn.Module):
    """A biased linear router picks ``experts_per_token`` experts; their outputs are weighted by the
    softmax over the chosen logits. ``"batch pos d_model" -> "batch pos d_model"``."""

    def __init__(self, cfg: Union[dict, HookedTransformerConfig]) -> None:
        super().__init__()
        self.cfg = cfg = HookedTransformerConfig.unwrap(cfg)
        if not cfg.num_experts or not cfg.experts_per_token or not cfg.d_mlp:
            raise ValueError("a mixture-of-experts MLP needs num_experts, experts_per_token and d_mlp")
        self.experts_per_token = cfg.experts_per_token
        self.W_gate = nn.Linear(cfg.d_model, cfg.num_experts, bias=True, dtype=cfg.dtype)
        self.experts = nn.ModuleList([GptOssExpert(cfg) for _ in range(cfg.num_experts)])
        self.hook_expert_weights = HookPoint()  # [batch, pos, experts_per_token]
        self.hook_expert_indices = HookPoint()  # [batch, pos, experts_per_token]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1])
        top_logits, indices = torch.topk(self.W_gate(flat), self.experts_per_token, dim=-1)
        weights = torch.softmax(top_logits.float(), dim=-1).to(x.dtype)
        shape = (*x.shape[:-1], self.experts_per_token)
        weights = self.hook_expert_weights(weights.view(shape)).reshape(-1, self.experts_per_token)
        indices = self.hook_expert_indices(indices.view(shape)).reshape(-1, self.experts_per_token)
        out = torch.zeros_like(flat)
        for index, expert in enumerate(self.experts):
            token, slot = torch.where(indices == index)
            if token.numel():
                out.index_add_(0, token, expert(flat[token]) * weights[token, slot, None])
        return out.view_as(x)
