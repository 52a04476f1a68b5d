"""Mixture-of-experts MLP (Mixtral, OLMoE, gpt-oss): a router picks ``experts_per_token`` experts per token.

Only the chosen experts run, on the tokens routed to them, as in Hugging Face's sparse blocks;
the router's logits, the chosen experts and their weights are hook points, and every expert
has its own hooks (upstream's names: ``hook_gate``, ``hook_pre``, ``hook_post``) on the rows of
the tokens routed to it. See docs/hooks.md, "Per-family hook placement".
"""

from __future__ import annotations

from typing import Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from transformer_lens.components.mlp import ACTIVATIONS
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.hook_points import HookPoint


def gpt_oss_glu(gate: torch.Tensor, pre: torch.Tensor, alpha: float = 1.702, limit: float = 7.0) -> torch.Tensor:
    """gpt-oss's clamped GLU: ``(clamp(pre, -limit, limit) + 1) * g * sigmoid(alpha * g)``, ``g = min(gate, limit)``."""
    gate = gate.clamp(max=limit)
    pre = pre.clamp(min=-limit, max=limit)
    return (pre + 1) * gate * torch.sigmoid(gate * alpha)


class MoEExpert(nn.Module):
    """One gated expert: ``W_out(act(x W_gate) * (x W_in))``; gpt-oss's clamped GLU with biases."""

    def __init__(self, cfg: HookedTransformerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d_mlp = cfg.d_mlp
        self.gpt_oss = cfg.moe_style == "gpt_oss"
        self.W_gate = nn.Parameter(torch.empty(cfg.d_model, d_mlp, dtype=cfg.dtype))
        self.W_in = nn.Parameter(torch.empty(cfg.d_model, d_mlp, dtype=cfg.dtype))
        self.W_out = nn.Parameter(torch.empty(d_mlp, cfg.d_model, dtype=cfg.dtype))
        if self.gpt_oss:
            self.b_gate = nn.Parameter(torch.zeros(d_mlp, dtype=cfg.dtype))
            self.b_in = nn.Parameter(torch.zeros(d_mlp, dtype=cfg.dtype))
            self.b_out = nn.Parameter(torch.zeros(cfg.d_model, dtype=cfg.dtype))
            self.alpha = float(cfg.extra.get("swiglu_alpha", 1.702))
            self.limit = float(cfg.extra.get("swiglu_limit", 7.0))
        self.act_fn = ACTIVATIONS[cfg.act_fn or "silu"]
        self.hook_gate = HookPoint()  # [routed_tokens, d_mlp]
        self.hook_pre = HookPoint()  # [routed_tokens, d_mlp]
        self.hook_post = HookPoint()  # [routed_tokens, d_mlp]
        self.hook_out = HookPoint()  # [routed_tokens, d_model]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``"routed_tokens d_model" -> "routed_tokens d_model"`` (before the routing weight)."""
        gate, pre = x @ self.W_gate, x @ self.W_in
        if self.gpt_oss:
            gate, pre = self.hook_gate(gate + self.b_gate), self.hook_pre(pre + self.b_in)
            post = self.hook_post(gpt_oss_glu(gate, pre, self.alpha, self.limit))
            return self.hook_out(post @ self.W_out + self.b_out)
        post = self.hook_post(self.act_fn(self.hook_gate(gate)) * self.hook_pre(pre))
        return self.hook_out(post @ self.W_out)


class MoE(nn.Module):
    """Router plus ``num_experts`` experts; each token's output is the weighted sum of its chosen experts'."""

    def __init__(self, cfg: Union[dict, HookedTransformerConfig]) -> None:
        super().__init__()
        cfg = HookedTransformerConfig.unwrap(cfg)  # upstream's components accept a dict too
        if not cfg.num_experts or not cfg.experts_per_token or not cfg.d_mlp:
            raise ValueError("a mixture-of-experts MLP needs num_experts, experts_per_token and d_mlp")
        self.cfg = cfg
        self.num_experts, self.experts_per_token = cfg.num_experts, cfg.experts_per_token
        self.W_gate = nn.Parameter(torch.empty(cfg.d_model, cfg.num_experts, dtype=cfg.dtype))  # the router
        if cfg.moe_style == "gpt_oss":
            self.b_gate = nn.Parameter(torch.zeros(cfg.num_experts, dtype=cfg.dtype))
        self.experts = nn.ModuleList([MoEExpert(cfg) for _ in range(cfg.num_experts)])
        self.hook_router_logits = HookPoint()  # [batch, pos, num_experts]
        self.hook_expert_indices = HookPoint()  # [batch, pos, experts_per_token]
        self.hook_expert_weights = HookPoint()  # [batch, pos, experts_per_token]

    def route(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``"batch pos d_model"`` -> chosen experts and their weights, each ``"batch pos experts_per_token"``."""
        logits = x @ self.W_gate
        if self.cfg.moe_style == "gpt_oss":
            logits = self.hook_router_logits(logits + self.b_gate)
            top_logits, indices = torch.topk(logits, self.experts_per_token, dim=-1)
            weights = torch.softmax(top_logits.float(), dim=-1)
        else:
            logits = self.hook_router_logits(logits)
            weights, indices = torch.topk(torch.softmax(logits.float(), dim=-1), self.experts_per_token, dim=-1)
            if self.cfg.norm_topk_prob:
                weights = weights / weights.sum(dim=-1, keepdim=True)
        return self.hook_expert_indices(indices), self.hook_expert_weights(weights.to(x.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``"batch pos d_model" -> "batch pos d_model"``."""
        indices, weights = self.route(x)
        flat = x.reshape(-1, x.shape[-1])
        flat_indices = indices.reshape(-1, indices.shape[-1])
        flat_weights = weights.reshape(-1, weights.shape[-1])
        out = torch.zeros_like(flat)
        # Every expert runs, even on no tokens, so its hooks fire on every forward pass.
        for index, expert in enumerate(self.experts):
            token, slot = torch.where(flat_indices == index)
            contribution = expert(flat[token]) * flat_weights[token, slot, None]
            out.index_add_(0, token, contribution.to(out.dtype))
        return out.view_as(x)
