"""BERT pieces for HookedEncoder: embeddings with token types, the post-LN block and the MLM head.

Attention, MLP, LayerNorm and the token/position embeddings are the shared components; only
the wiring differs from the decoder stack. Names and hook names follow upstream TransformerLens.
"""

from __future__ import annotations

from typing import Optional, Union

import torch
import torch.nn as nn

from transformer_lens.components.attention import Attention, key_mask_from_additive
from transformer_lens.components.embed import Embed, PosEmbed
from transformer_lens.components.mlp import ACTIVATIONS, MLP
from transformer_lens.components.norms import LayerNorm
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.hook_points import HookPoint


def type_vocab_size(cfg: HookedTransformerConfig) -> int:
    """Number of token types (segments); BERT checkpoints have 2."""
    return int(cfg.extra.get("type_vocab_size", 2))


class TokenTypeEmbed(nn.Module):
    def __init__(self, cfg: Union[HookedTransformerConfig, dict]) -> None:
        super().__init__()
        self.cfg = cfg = HookedTransformerConfig.unwrap(cfg)
        self.W_token_type = nn.Parameter(torch.empty(type_vocab_size(cfg), cfg.d_model, dtype=cfg.dtype))

    def forward(self, token_type_ids: torch.Tensor) -> torch.Tensor:
        """``"batch pos" -> "batch pos d_model"``."""
        return self.W_token_type[token_type_ids]


class BertEmbed(nn.Module):
    """LayerNorm(token + position + token-type embeddings)."""

    def __init__(self, cfg: Union[HookedTransformerConfig, dict]) -> None:
        super().__init__()
        self.cfg = cfg = HookedTransformerConfig.unwrap(cfg)
        self.embed = Embed(cfg)
        self.pos_embed = PosEmbed(cfg)
        self.token_type_embed = TokenTypeEmbed(cfg)
        self.ln = LayerNorm(cfg)
        self.hook_embed = HookPoint()  # [batch, pos, d_model]
        self.hook_pos_embed = HookPoint()  # [batch, pos, d_model]
        self.hook_token_type_embed = HookPoint()  # [batch, pos, d_model]

    def forward(self, tokens: torch.Tensor, token_type_ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``"batch pos" -> "batch pos d_model"``.

        Positions are absolute (0..pos-1) whatever the padding, as in BERT.
        """
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(tokens)
        word = self.hook_embed(self.embed(tokens))
        position = self.hook_pos_embed(self.pos_embed(tokens))
        token_type = self.hook_token_type_embed(self.token_type_embed(token_type_ids))
        return self.ln(word + position + token_type)


class BertBlock(nn.Module):
    """Post-LN block: ``ln1`` follows attention, ``ln2`` follows the MLP.

    ``hook_resid_mid`` is ``resid_pre + attn_out`` (before ln1); ``hook_resid_post`` is
    ``ln1(resid_mid) + mlp_out`` (before ln2); the block's output, which feeds the next block
    and equals HF's hidden state, is ``hook_normalized_resid_post``.
    """

    def __init__(self, cfg: Union[HookedTransformerConfig, dict], block_index: int = 0) -> None:
        super().__init__()
        self.cfg = cfg = HookedTransformerConfig.unwrap(cfg)
        self.layer_idx = block_index
        self.attn = Attention(cfg, layer_id=block_index)
        self.ln1 = LayerNorm(cfg)
        self.mlp = MLP(cfg)
        self.ln2 = LayerNorm(cfg)
        self.hook_q_input = HookPoint()  # [batch, pos, head_index, d_model]
        self.hook_k_input = HookPoint()  # [batch, pos, head_index, d_model]
        self.hook_v_input = HookPoint()  # [batch, pos, head_index, d_model]
        self.hook_attn_out = HookPoint()  # [batch, pos, d_model]
        self.hook_mlp_in = HookPoint()  # [batch, pos, d_model]
        self.hook_mlp_out = HookPoint()  # [batch, pos, d_model]
        self.hook_resid_pre = HookPoint()  # [batch, pos, d_model]
        self.hook_resid_mid = HookPoint()  # [batch, pos, d_model]
        self.hook_resid_post = HookPoint()  # [batch, pos, d_model]
        self.hook_normalized_resid_post = HookPoint()  # [batch, pos, d_model]

    def forward(
        self,
        resid_pre: torch.Tensor,
        additive_attention_mask: Optional[torch.Tensor] = None,
        attention_mask: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """``"batch pos d_model" -> "batch pos d_model"``.

        Padding is masked by ``attention_mask`` (``"batch key_pos"``, 1 = attend) or by upstream's
        ``additive_attention_mask`` (``"batch 1 1 key_pos"``, 0 = attend, -inf = masked).
        """
        if additive_attention_mask is not None:
            attention_mask = key_mask_from_additive(additive_attention_mask, attention_mask)
        resid_pre = self.hook_resid_pre(resid_pre)
        q_in = k_in = v_in = resid_pre
        if self.cfg.use_split_qkv_input:
            per_head = resid_pre.unsqueeze(2).expand(-1, -1, self.cfg.n_heads, -1)
            # Copies, so an in-place edit of one input reaches neither the others nor resid_pre.
            q_in = self.hook_q_input(per_head.clone())
            k_in = self.hook_k_input(per_head.clone())
            v_in = self.hook_v_input(per_head.clone())
        attn_out = self.hook_attn_out(self.attn(q_in, k_in, v_in, attention_mask=attention_mask))
        resid_mid = self.hook_resid_mid(resid_pre + attn_out)
        mlp_in = self.hook_mlp_in(resid_mid.clone()) if self.cfg.use_hook_mlp_in else resid_mid
        normalized_resid_mid = self.ln1(mlp_in)
        mlp_out = self.hook_mlp_out(self.mlp(normalized_resid_mid))
        resid_post = self.hook_resid_post(normalized_resid_mid + mlp_out)
        return self.hook_normalized_resid_post(self.ln2(resid_post))


class BertMLMHead(nn.Module):
    """The MLM transform before the unembedding: LayerNorm(act(resid @ W + b))."""

    def __init__(self, cfg: Union[HookedTransformerConfig, dict]) -> None:
        super().__init__()
        self.cfg = cfg = HookedTransformerConfig.unwrap(cfg)
        self.W = nn.Parameter(torch.empty(cfg.d_model, cfg.d_model, dtype=cfg.dtype))  # [d_model_in, d_model_out]
        self.b = nn.Parameter(torch.zeros(cfg.d_model, dtype=cfg.dtype))
        self.act_fn = ACTIVATIONS[cfg.act_fn or "gelu"]
        self.ln = LayerNorm(cfg)

    def forward(self, resid: torch.Tensor) -> torch.Tensor:
        """``"batch pos d_model" -> "batch pos d_model"``."""
        return self.ln(self.act_fn(torch.matmul(resid, self.W) + self.b))
