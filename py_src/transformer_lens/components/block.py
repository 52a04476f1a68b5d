"""One transformer block: pre-norm attention and MLP, sequential or parallel."""

from __future__ import annotations

from typing import Optional, Union

import torch
import torch.nn as nn

from transformer_lens.components.attention import make_attention
from transformer_lens.components.mlp import make_mlp
from transformer_lens.components.norms import make_norm
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.hook_points import HookPoint
from transformer_lens.kv_cache import KeyValueCacheEntry


class TransformerBlock(nn.Module):
    def __init__(self, cfg: Union[HookedTransformerConfig, dict], block_index: int) -> None:
        super().__init__()
        self.cfg = cfg = HookedTransformerConfig.unwrap(cfg)
        self.layer_idx = block_index
        self.ln1 = make_norm(cfg)
        self.attn = make_attention(cfg, block_index)
        if not cfg.attn_only:
            self.ln2 = make_norm(cfg)
            self.mlp = make_mlp(cfg)
        self.hook_attn_in = HookPoint()  # [batch, pos, head_index, d_model]
        self.hook_q_input = HookPoint()  # [batch, pos, head_index, d_model]
        self.hook_k_input = HookPoint()  # [batch, pos, kv_head_index, d_model]
        self.hook_v_input = HookPoint()  # [batch, pos, kv_head_index, d_model]
        self.hook_mlp_in = HookPoint()  # [batch, pos, d_model]
        self.hook_attn_out = HookPoint()  # [batch, pos, d_model]
        self.hook_mlp_out = HookPoint()  # [batch, pos, d_model]
        self.hook_resid_pre = HookPoint()  # [batch, pos, d_model]
        if not cfg.attn_only and not cfg.parallel_attn_mlp:
            self.hook_resid_mid = HookPoint()  # [batch, pos, d_model]
        self.hook_resid_post = HookPoint()  # [batch, pos, d_model]

    def _attention_inputs(self, resid_pre: torch.Tensor):
        """Query, key and value inputs; per-head copies when the config asks for those hooks."""
        cfg = self.cfg
        if cfg.use_split_qkv_input or cfg.use_attn_in:
            # Real copies: a hook editing one head's input in place must not reach the other
            # heads, the other inputs or the residual stream through a shared (expanded) view.
            def per_head(n: int) -> torch.Tensor:
                return resid_pre.unsqueeze(2).expand(-1, -1, n, -1).clone()

            if cfg.use_split_qkv_input:
                # Keys and values have one input per key/value head under GQA (as upstream 3.x).
                grouped = cfg.n_key_value_heads is not None and not cfg.ungroup_grouped_query_attention
                n_kv = cfg.n_key_value_heads if grouped else cfg.n_heads
                q_in = self.hook_q_input(per_head(cfg.n_heads))
                k_in = self.hook_k_input(per_head(n_kv))
                v_in = self.hook_v_input(per_head(n_kv))
            else:
                q_in = k_in = v_in = self.hook_attn_in(per_head(cfg.n_heads))
            return self.ln1(q_in), self.ln1(k_in), self.ln1(v_in)
        normed = self.ln1(resid_pre)
        return normed, normed, normed

    def forward(
        self,
        resid_pre: torch.Tensor,
        shortformer_pos_embed: Optional[torch.Tensor] = None,
        past_kv_cache_entry: Optional[KeyValueCacheEntry] = None,
        attention_mask: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """``"batch pos d_model" -> "batch pos d_model"``.

        ``shortformer_pos_embed`` is upstream's argument for shortformer models, which LensLab does not run.
        """
        if shortformer_pos_embed is not None:
            raise NotImplementedError("shortformer positional embeddings are not supported (shortformer_pos_embed must be None)")
        resid_pre = self.hook_resid_pre(resid_pre)
        q_in, k_in, v_in = self._attention_inputs(resid_pre)
        attn_out = self.hook_attn_out(
            self.attn(q_in, k_in, v_in, past_kv_cache_entry=past_kv_cache_entry, attention_mask=attention_mask)
        )
        if self.cfg.attn_only:
            return self.hook_resid_post(resid_pre + attn_out)
        if self.cfg.parallel_attn_mlp:
            mlp_in = resid_pre if not self.cfg.use_hook_mlp_in else self.hook_mlp_in(resid_pre.clone())
            mlp_out = self.hook_mlp_out(self.mlp(self.ln2(mlp_in)))
            return self.hook_resid_post(resid_pre + attn_out + mlp_out)
        resid_mid = self.hook_resid_mid(resid_pre + attn_out)
        mlp_in = resid_mid if not self.cfg.use_hook_mlp_in else self.hook_mlp_in(resid_mid.clone())
        mlp_out = self.hook_mlp_out(self.mlp(self.ln2(mlp_in)))
        return self.hook_resid_post(resid_mid + mlp_out)
