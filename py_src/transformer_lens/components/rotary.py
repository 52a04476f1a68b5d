"""Rotary positional embeddings (GPT-NeoX "rotate half" and GPT-J "adjacent pairs" styles)."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn

from transformer_lens.config import HookedTransformerConfig


class Rotary(nn.Module):
    """Rotates the first ``rotary_dim`` dimensions of each head by position-dependent angles."""

    def __init__(self, cfg: HookedTransformerConfig) -> None:
        super().__init__()
        self.rotary_dim = cfg.rotary_dim or cfg.d_head
        self.adjacent_pairs = cfg.rotary_adjacent_pairs
        inv_freq = 1.0 / (cfg.rotary_base ** (torch.arange(0, self.rotary_dim, 2, dtype=torch.float32) / self.rotary_dim))
        # Angles are computed per call from positions: a table for long contexts (e.g. 128k)
        # would cost hundreds of MB per layer.
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def _rotate(self, x: torch.Tensor) -> torch.Tensor:
        if self.adjacent_pairs:
            even, odd = x[..., ::2], x[..., 1::2]
            return torch.stack([-odd, even], dim=-1).flatten(-2)
        half = x.shape[-1] // 2
        return torch.cat([-x[..., half:], x[..., :half]], dim=-1)

    def forward(
        self, x: torch.Tensor, past_kv_pos_offset: int = 0, attention_mask: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """``"batch pos head_index d_head"`` -> same; positions count real tokens when masked."""
        pos = x.shape[1]
        if attention_mask is None:
            positions = torch.arange(past_kv_pos_offset, past_kv_pos_offset + pos, device=x.device)[None]
        else:
            positions = (attention_mask.long().cumsum(dim=1) - 1).clamp(min=0)[:, -pos:]
        angles = positions.float()[..., None] * self.inv_freq
        angles = angles.repeat_interleave(2, dim=-1) if self.adjacent_pairs else torch.cat([angles, angles], dim=-1)
        cos = angles.cos()[:, :, None, :].to(x.dtype)
        sin = angles.sin()[:, :, None, :].to(x.dtype)
        x_rot, x_pass = x[..., : self.rotary_dim], x[..., self.rotary_dim :]
        rotated = x_rot * cos + self._rotate(x_rot) * sin
        return torch.cat([rotated, x_pass], dim=-1) if x_pass.shape[-1] else rotated
