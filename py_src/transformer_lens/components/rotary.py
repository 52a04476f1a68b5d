"""Rotary positional embeddings (GPT-NeoX "rotate half" and GPT-J "adjacent pairs" styles).

Frequencies follow Hugging Face's RoPE variants: the default, "linear" (positions divided by a
factor), "llama3" (NTK-by-parts), "yarn" (blended interpolation with an attention factor) and
"dynamic" (the base grows once a sequence passes ``n_ctx``) and "longrope" (Phi-3: per-frequency
factors, long ones past the original context). Models with a second RoPE for
local layers (Gemma 3, OLMo 3: ``rotary_base_local``) scale only their global layers.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn as nn

from transformer_lens.config import HookedTransformerConfig


def _default_inv_freq(base: float, rotary_dim: int) -> torch.Tensor:
    return 1.0 / (base ** (torch.arange(0, rotary_dim, 2, dtype=torch.int64).float() / rotary_dim))


def _ntk_by_parts(inv_freq: torch.Tensor, cfg: HookedTransformerConfig) -> torch.Tensor:
    """Llama 3.1: keep high frequencies, divide low ones by the factor, blend in between."""
    factor, low, high = cfg.NTK_by_parts_factor, cfg.NTK_by_parts_low_freq_factor, cfg.NTK_by_parts_high_freq_factor
    old_len = cfg.NTK_original_ctx_len
    wavelen = 2 * math.pi / inv_freq
    scaled = torch.where(wavelen > old_len / low, inv_freq / factor, inv_freq)
    smooth = (old_len / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    is_medium = ~(wavelen < old_len / high) & ~(wavelen > old_len / low)
    return torch.where(is_medium, smoothed, scaled)


def _yarn(base: float, rotary_dim: int, cfg: HookedTransformerConfig) -> torch.Tensor:
    """YaRN: interpolate the slow dimensions, keep the fast ones, ramp linearly in between."""
    pos_freqs = base ** (torch.arange(0, rotary_dim, 2).float() / rotary_dim)
    extrapolation, interpolation = 1.0 / pos_freqs, 1.0 / (cfg.yarn_factor * pos_freqs)

    def correction_dim(rotations: float) -> float:
        return (rotary_dim * math.log(cfg.yarn_original_max_position_embeddings / (rotations * 2 * math.pi))) / (
            2 * math.log(base)
        )

    low, high = correction_dim(cfg.yarn_beta_fast), correction_dim(cfg.yarn_beta_slow)
    if cfg.yarn_truncate:
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, rotary_dim - 1)
    if low == high:
        high += 0.001  # avoid a zero-width ramp
    ramp = torch.clamp((torch.arange(rotary_dim // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
    keep = 1 - ramp
    return interpolation * (1 - keep) + extrapolation * keep


class Rotary(nn.Module):
    """Rotates the first ``rotary_dim`` dimensions of each head by position-dependent angles."""

    def __init__(self, cfg: HookedTransformerConfig, attn_type: str = "global") -> None:
        super().__init__()
        self.cfg = cfg
        self.rotary_dim = cfg.rotary_dim or cfg.d_head
        self.adjacent_pairs = cfg.rotary_adjacent_pairs
        local_rope = attn_type == "local" and cfg.rotary_base_local is not None
        self.base = float(cfg.rotary_base_local if local_rope else cfg.rotary_base)
        # With a separate local RoPE, scaling belongs to the global layers only (as in HF's Gemma 3).
        self.scaled = not local_rope
        self.attention_factor = cfg.yarn_attention_factor if (self.scaled and cfg.use_yarn_rope) else 1.0
        self.longrope = self.scaled and cfg.rotary_longrope_long_factor is not None
        if self.longrope:
            self.attention_factor = cfg.rotary_attention_factor
            exponents = torch.arange(0, self.rotary_dim, 2, dtype=torch.int64).float() / self.rotary_dim
            for name, factors in (("short", cfg.rotary_longrope_short_factor), ("long", cfg.rotary_longrope_long_factor)):
                inv = 1.0 / (torch.tensor(factors, dtype=torch.float32) * self.base**exponents)
                self.register_buffer(f"{name}_inv_freq", inv, persistent=False)
        # Angles are computed per call from positions: a table for long contexts (e.g. 128k)
        # would cost hundreds of MB per layer.
        self.register_buffer("inv_freq", self._inv_freq(self.base), persistent=False)

    def _inv_freq(self, base: float) -> torch.Tensor:
        cfg = self.cfg
        if self.scaled and cfg.use_yarn_rope:
            return _yarn(base, self.rotary_dim, cfg)
        inv_freq = _default_inv_freq(base, self.rotary_dim)
        if not self.scaled:
            return inv_freq
        if cfg.use_NTK_by_parts_rope:
            inv_freq = _ntk_by_parts(inv_freq, cfg)
        return inv_freq / cfg.rotary_scaling_factor

    def _angles(self, positions: torch.Tensor) -> torch.Tensor:
        """``"batch pos"`` positions -> ``"batch pos rotary_dim/2"`` angles."""
        factor = self.cfg.rotary_dynamic_ntk_factor
        if self.longrope:
            # Each row picks the long factors once it is longer than the original context (HF
            # decides per call; per row, a padded row rotates as it would alone).
            long_rows = positions.max(dim=1).values + 1 > self.cfg.rotary_longrope_original_ctx_len
            inv_freq = torch.where(long_rows[:, None], self.long_inv_freq, self.short_inv_freq)
            return positions.float()[..., None] * inv_freq[:, None, :]
        if not self.scaled or factor is None:
            return positions.float()[..., None] * self.inv_freq
        # Dynamic NTK: each row's base grows with its own length past n_ctx, so a padded row
        # rotates as it would alone. HF recomputes per call too, but keeps the largest length seen.
        seq_len = (positions.max(dim=1).values + 1).clamp(min=self.cfg.n_ctx).double()
        dim = self.rotary_dim
        base = self.base * ((factor * seq_len / self.cfg.n_ctx) - (factor - 1)) ** (dim / (dim - 2))
        exponents = torch.arange(0, dim, 2, dtype=torch.int64, device=positions.device).double() / dim
        inv_freq = (1.0 / (base[:, None] ** exponents)).float()
        return positions.float()[..., None] * inv_freq[:, None, :]

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
        angles = self._angles(positions)
        angles = angles.repeat_interleave(2, dim=-1) if self.adjacent_pairs else torch.cat([angles, angles], dim=-1)
        cos, sin = angles.cos(), angles.sin()
        if self.attention_factor != 1.0:
            cos, sin = cos * self.attention_factor, sin * self.attention_factor
        cos = cos[:, :, None, :].to(x.dtype)
        sin = sin[:, :, None, :].to(x.dtype)
        x_rot, x_pass = x[..., : self.rotary_dim], x[..., self.rotary_dim :]
        rotated = x_rot * cos + self._rotate(x_rot) * sin
        return torch.cat([rotated, x_pass], dim=-1) if x_pass.shape[-1] else rotated
