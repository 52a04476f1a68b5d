"""Token embedding, absolute positional embedding and unembedding."""

from __future__ import annotations

from typing import Optional, Union

import torch
import torch.nn as nn

from transformer_lens.config import HookedTransformerConfig


class Embed(nn.Module):
    def __init__(self, cfg: Union[HookedTransformerConfig, dict]) -> None:
        super().__init__()
        self.cfg = cfg = HookedTransformerConfig.unwrap(cfg)
        self.W_E = nn.Parameter(torch.empty(cfg.d_vocab, cfg.d_model, dtype=cfg.dtype))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``"batch pos" -> "batch pos d_model"``."""
        embed = self.W_E[tokens]
        if self.cfg.embedding_multiplier != 1.0:
            embed = embed * self.cfg.embedding_multiplier
        return embed


class PosEmbed(nn.Module):
    def __init__(self, cfg: Union[HookedTransformerConfig, dict]) -> None:
        super().__init__()
        self.cfg = cfg = HookedTransformerConfig.unwrap(cfg)
        self.W_pos = nn.Parameter(torch.empty(cfg.n_ctx, cfg.d_model, dtype=cfg.dtype))

    def forward(
        self,
        tokens: torch.Tensor,
        past_kv_pos_offset: int = 0,
        attention_mask: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """``"batch pos" -> "batch pos d_model"``.

        With an attention mask, positions count real tokens only, so a left-padded
        sequence gets the same embeddings as the unpadded one; padding gets zeros.
        """
        batch, pos = tokens.shape[:2]
        if attention_mask is None:
            # A real copy, not an expanded view of W_pos: hooks on hook_pos_embed may edit it
            # in place, which must change neither the weights nor the other batch rows.
            return self.W_pos[past_kv_pos_offset : past_kv_pos_offset + pos].unsqueeze(0).repeat(batch, 1, 1)
        positions = (attention_mask.long().cumsum(dim=1) - 1).clamp(min=0)[:, -pos:]
        embed = self.W_pos[positions]
        return embed * attention_mask[:, -pos:].unsqueeze(-1).to(embed.dtype)


class Unembed(nn.Module):
    def __init__(self, cfg: Union[HookedTransformerConfig, dict]) -> None:
        super().__init__()
        self.cfg = cfg = HookedTransformerConfig.unwrap(cfg)
        self.W_U = nn.Parameter(torch.empty(cfg.d_model, cfg.d_vocab_out, dtype=cfg.dtype))
        self.b_U = nn.Parameter(torch.zeros(cfg.d_vocab_out, dtype=cfg.dtype))

    def forward(self, residual: torch.Tensor) -> torch.Tensor:
        """``"batch pos d_model" -> "batch pos d_vocab_out"``."""
        flat = residual.reshape(-1, residual.shape[-1])
        logits = torch.addmm(self.b_U, flat, self.W_U)
        return logits.view(*residual.shape[:-1], -1)
