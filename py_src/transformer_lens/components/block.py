"""One transformer block: pre-norm attention and MLP, sequential or parallel.

Variants for newer families: Gemma 2/3 add post-norms (``ln1_post``, ``ln2_post``) on each
sublayer's output (``use_normalization_before_and_after``); OLMo 2/3 normalise only the outputs,
with ``ln1``/``ln2`` (upstream's names) as those post-norms (``normalization_after_only``).
Either way ``hook_attn_out``/``hook_mlp_out`` hold exactly what is added to the residual stream.
OPT-350m is post-LN (``post_layer_norm``): each sum is normalised before it flows on.
"""

from __future__ import annotations

from typing import Optional, Union

import torch
import torch.nn as nn

from transformer_lens.components.attention import make_attention
from transformer_lens.components.mlp import make_mlp
from transformer_lens.components.norms import make_learned_norm, make_norm
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
        if cfg.use_normalization_before_and_after:
            self.ln1_post = make_learned_norm(cfg)
            if not cfg.attn_only:
                self.ln2_post = make_learned_norm(cfg)
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

    def _attention_inputs(self, resid_pre: torch.Tensor, shortformer_pos_embed: Optional[torch.Tensor] = None):
        """Query, key and value inputs; per-head copies when the config asks for those hooks.

        Shortformer models add the positional embedding to the normalised query and key inputs
        (never to values or the residual stream).
        """
        q_in, k_in, v_in = self._normed_inputs(resid_pre)
        if shortformer_pos_embed is not None:
            pos = shortformer_pos_embed.unsqueeze(2) if q_in.ndim == 4 else shortformer_pos_embed
            q_in, k_in = q_in + pos, k_in + pos
        return q_in, k_in, v_in

    def _normed_inputs(self, resid_pre: torch.Tensor):
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
            if cfg.normalization_after_only:
                return q_in, k_in, v_in
            return self.ln1(q_in), self.ln1(k_in), self.ln1(v_in)
        if cfg.normalization_after_only:
            return resid_pre, resid_pre, resid_pre
        normed = self.ln1(resid_pre)
        return normed, normed, normed

    def forward(
        self,
        resid_pre: torch.Tensor,
        shortformer_pos_embed: Optional[torch.Tensor] = None,
        past_kv_cache_entry: Optional[KeyValueCacheEntry] = None,
        attention_mask: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """``"batch pos d_model" -> "batch pos d_model"``; ``shortformer_pos_embed`` is ``"batch pos d_model"``."""
        resid_pre = self.hook_resid_pre(resid_pre)
        if self.cfg.post_layer_norm:
            return self._post_norm_forward(resid_pre, past_kv_cache_entry, attention_mask)
        q_in, k_in, v_in = self._attention_inputs(resid_pre, shortformer_pos_embed)
        attn_out = self.attn(q_in, k_in, v_in, past_kv_cache_entry=past_kv_cache_entry, attention_mask=attention_mask)
        if self.cfg.normalization_after_only:
            attn_out = self.ln1(attn_out)
        elif self.cfg.use_normalization_before_and_after:
            attn_out = self.ln1_post(attn_out)
        attn_out = self.hook_attn_out(attn_out)
        if self.cfg.attn_only:
            return self.hook_resid_post(resid_pre + attn_out)
        if self.cfg.parallel_attn_mlp:
            mlp_in = resid_pre if not self.cfg.use_hook_mlp_in else self.hook_mlp_in(resid_pre.clone())
            mlp_out = self._mlp(mlp_in)
            return self.hook_resid_post(resid_pre + attn_out + mlp_out)
        resid_mid = self.hook_resid_mid(resid_pre + attn_out)
        mlp_in = resid_mid if not self.cfg.use_hook_mlp_in else self.hook_mlp_in(resid_mid.clone())
        return self.hook_resid_post(resid_mid + self._mlp(mlp_in))

    def _mlp(self, mlp_in: torch.Tensor) -> torch.Tensor:
        """``"batch pos d_model" -> "batch pos d_model"``: the MLP with its norms, through hook_mlp_out."""
        if self.cfg.normalization_after_only:
            return self.hook_mlp_out(self.ln2(self.mlp(mlp_in)))
        mlp_out = self.mlp(self.ln2(mlp_in))
        if self.cfg.use_normalization_before_and_after:
            mlp_out = self.ln2_post(mlp_out)
        return self.hook_mlp_out(mlp_out)

    def _post_norm_forward(
        self,
        resid_pre: torch.Tensor,
        past_kv_cache_entry: Optional[KeyValueCacheEntry],
        attention_mask: Optional[torch.Tensor],
    ) -> torch.Tensor:
        """OPT-350m's order: attention reads the raw stream; each sum is normalised before it flows on.

        ``hook_resid_mid`` is ``ln1(resid_pre + attn_out)`` and ``hook_resid_post`` is
        ``ln2(resid_mid + mlp_out)``: the streams the next sublayer actually reads.
        """
        if self.cfg.use_split_qkv_input or self.cfg.use_attn_in:
            raise ValueError("use_split_qkv_input/use_attn_in are not supported with post_layer_norm (OPT-350m)")
        attn_out = self.hook_attn_out(
            self.attn(resid_pre, resid_pre, resid_pre, past_kv_cache_entry=past_kv_cache_entry, attention_mask=attention_mask)
        )
        if self.cfg.attn_only:
            return self.hook_resid_post(self.ln1(resid_pre + attn_out))
        resid_mid = self.hook_resid_mid(self.ln1(resid_pre + attn_out))
        mlp_in = resid_mid if not self.cfg.use_hook_mlp_in else self.hook_mlp_in(resid_mid.clone())
        mlp_out = self.hook_mlp_out(self.mlp(mlp_in))
        return self.hook_resid_post(self.ln2(resid_mid + mlp_out))
