"""T5 pieces for HookedEncoderDecoder: attention with relative position buckets, and the T5 block.

The attention is the shared ``Attention`` (unscaled scores, T5's convention) plus, in each
stack's first layer, the table of per-bucket biases that every layer of that stack adds to its
scores. Names and hook names follow upstream TransformerLens (``rel_pos_bias``,
``hook_cross_attn_out``, ``hook_resid_mid_cross``).
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn as nn

from transformer_lens.components.attention import Attention
from transformer_lens.components.mlp import make_mlp
from transformer_lens.components.norms import RMSNorm
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.hook_points import HookPoint
from transformer_lens.kv_cache import KeyValueCacheEntry


def relative_position_bucket(relative_position: torch.Tensor, bidirectional: bool, num_buckets: int, max_distance: int) -> torch.Tensor:
    """T5's bucket of each ``key_pos - query_pos``: exact for small distances, logarithmic up to ``max_distance``."""
    buckets = torch.zeros_like(relative_position)
    if bidirectional:
        num_buckets //= 2
        buckets = buckets + (relative_position > 0).long() * num_buckets
        distance = relative_position.abs()
    else:  # a causal decoder only sees keys at or before the query
        distance = (-relative_position).clamp(min=0)
    max_exact = num_buckets // 2
    # clamp(min=1) only keeps log() finite where the exact branch is taken anyway.
    log_ratio = torch.log(distance.float().clamp(min=1) / max_exact) / math.log(max_distance / max_exact)
    large = (max_exact + (log_ratio * (num_buckets - max_exact)).long()).clamp(max=num_buckets - 1)
    return buckets + torch.where(distance < max_exact, distance, large)


class T5Attention(Attention):
    """Shared attention with T5's unscaled scores; the first layer of a stack also owns the bucket biases."""

    def __init__(
        self, cfg: HookedTransformerConfig, layer_idx: int, causal: bool, has_relative_attention_bias: bool = False
    ) -> None:
        super().__init__(cfg, layer_id=layer_idx, causal=causal)
        if has_relative_attention_bias:
            if not cfg.relative_attention_num_buckets or not cfg.relative_attention_max_distance:
                raise ValueError("T5 attention needs relative_attention_num_buckets and relative_attention_max_distance")
            self.rel_pos_bias = nn.Embedding(cfg.relative_attention_num_buckets, cfg.n_heads, dtype=cfg.dtype)
            self.rel_pos_hook = HookPoint()  # [1, head_index, query_pos, key_pos]

    def compute_relative_attention_bias(self, query_len: int, key_len: int, past_len: int = 0) -> torch.Tensor:
        """Bias ``"1 head_index query_pos key_pos"`` for queries at ``past_len ...`` over keys ``0 .. key_len``."""
        device = self.rel_pos_bias.weight.device
        query = torch.arange(past_len, past_len + query_len, device=device)[:, None]
        key = torch.arange(key_len, device=device)[None, :]
        buckets = relative_position_bucket(
            key - query,
            bidirectional=not self.causal,
            num_buckets=self.cfg.relative_attention_num_buckets,
            max_distance=self.cfg.relative_attention_max_distance,
        )
        return self.rel_pos_hook(self.rel_pos_bias(buckets).permute(2, 0, 1).unsqueeze(0))


class T5Block(nn.Module):
    """Pre-RMSNorm block: self-attention, (decoder only) cross-attention over the encoder, MLP."""

    def __init__(self, cfg: HookedTransformerConfig, block_index: int, is_decoder: bool) -> None:
        super().__init__()
        self.cfg = cfg
        self.is_decoder = is_decoder
        self.ln1 = RMSNorm(cfg)
        self.attn = T5Attention(cfg, block_index, causal=is_decoder, has_relative_attention_bias=block_index == 0)
        self.ln2 = RMSNorm(cfg)
        if is_decoder:
            self.cross_attn = T5Attention(cfg, block_index, causal=False)
            self.ln3 = RMSNorm(cfg)
            self.hook_cross_attn_out = HookPoint()  # [batch, pos, d_model]
            self.hook_resid_mid_cross = HookPoint()  # [batch, pos, d_model]
        self.mlp = make_mlp(cfg)
        self.hook_resid_pre = HookPoint()  # [batch, pos, d_model]
        self.hook_attn_out = HookPoint()  # [batch, pos, d_model]
        self.hook_resid_mid = HookPoint()  # [batch, pos, d_model]
        self.hook_mlp_in = HookPoint()  # [batch, pos, d_model]
        self.hook_mlp_out = HookPoint()  # [batch, pos, d_model]
        self.hook_resid_post = HookPoint()  # [batch, pos, d_model]

    def forward(
        self,
        resid_pre: torch.Tensor,
        position_bias: torch.Tensor,
        attention_mask: Optional[torch.Tensor] = None,
        encoder_hidden_states: Optional[torch.Tensor] = None,
        encoder_attention_mask: Optional[torch.Tensor] = None,
        past_kv_cache_entry: Optional[KeyValueCacheEntry] = None,
    ) -> torch.Tensor:
        """``"batch pos d_model" -> "batch pos d_model"``; masks are ``"batch key_pos"`` with 1 for real tokens."""
        resid_pre = self.hook_resid_pre(resid_pre)
        normed = self.ln1(resid_pre)
        attn_out = self.hook_attn_out(
            self.attn(normed, normed, normed, past_kv_cache_entry, attention_mask=attention_mask, position_bias=position_bias)
        )
        resid = self.hook_resid_mid(resid_pre + attn_out)
        if self.is_decoder:
            if encoder_hidden_states is None:
                raise ValueError("a T5 decoder block needs the encoder's output for cross-attention")
            cross_out = self.hook_cross_attn_out(
                self.cross_attn(self.ln2(resid), encoder_hidden_states, encoder_hidden_states, attention_mask=encoder_attention_mask)
            )
            resid = self.hook_resid_mid_cross(resid + cross_out)
        mlp_in = self.hook_mlp_in(resid.clone()) if self.cfg.use_hook_mlp_in else resid
        mlp_out = self.hook_mlp_out(self.mlp((self.ln3 if self.is_decoder else self.ln2)(mlp_in)))
        return self.hook_resid_post(mlp_in + mlp_out)
