"""Switches for the optional hook points (upstream's ``model.set_use_*`` methods).

Some hook points cost memory or time on every forward pass, so they only fire when the
config asks for them: ``attn.hook_result`` (each head's output in the residual basis, a
``"batch pos head_index d_model"`` tensor), the per-head attention inputs ``hook_attn_in`` /
``hook_q_input`` / ``hook_k_input`` / ``hook_v_input``, and ``hook_mlp_in``. The forward pass
reads the flags on every call, so switching is immediate and needs no rebuild.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformer_lens.config import HookedTransformerConfig


class HookSwitchesMixin:
    """``set_use_*`` methods for a model with a ``cfg`` (mixed into HookedTransformer)."""

    cfg: HookedTransformerConfig

    def set_use_attn_result(self, use_attn_result: bool) -> None:
        """Fire ``blocks.{layer}.attn.hook_result``: each head's ``z @ W_O``, before the sum."""
        self.cfg.use_attn_result = bool(use_attn_result)  # type: ignore[attr-defined]

    def set_use_split_qkv_input(self, use_split_qkv_input: bool) -> None:
        """Give queries, keys and values per-head copies of the residual stream
        (``hook_q_input`` / ``hook_k_input`` / ``hook_v_input``), so each can be patched alone."""
        if use_split_qkv_input and self.cfg.use_attn_in:  # type: ignore[attr-defined]
            raise ValueError("use_split_qkv_input and use_attn_in cannot both be on: call set_use_attn_in(False) first")
        self.cfg.use_split_qkv_input = bool(use_split_qkv_input)  # type: ignore[attr-defined]

    def set_use_attn_in(self, use_attn_in: bool) -> None:
        """Give each head its own copy of the attention input (``hook_attn_in``)."""
        if use_attn_in and self.cfg.use_split_qkv_input:  # type: ignore[attr-defined]
            raise ValueError("use_attn_in and use_split_qkv_input cannot both be on: call set_use_split_qkv_input(False) first")
        if use_attn_in and getattr(self.cfg, "n_key_value_heads", None) is not None:
            raise ValueError("use_attn_in is not available with grouped-query attention: use set_use_split_qkv_input(True)")
        self.cfg.use_attn_in = bool(use_attn_in)  # type: ignore[attr-defined]

    def set_use_hook_mlp_in(self, use_hook_mlp_in: bool) -> None:
        """Fire ``blocks.{layer}.hook_mlp_in`` (a copy of the MLP's input)."""
        if use_hook_mlp_in and getattr(self.cfg, "attn_only", False):
            raise ValueError("this model is attention-only: it has no MLP input to hook")
        self.cfg.use_hook_mlp_in = bool(use_hook_mlp_in)  # type: ignore[attr-defined]

    def set_ungroup_grouped_query_attention(self, ungroup_grouped_query_attention: bool) -> None:
        """With grouped-query attention, show keys and values once per query head in
        ``hook_k`` / ``hook_v`` (``head_index`` = ``n_heads``) instead of once per group."""
        self.cfg.ungroup_grouped_query_attention = bool(ungroup_grouped_query_attention)  # type: ignore[attr-defined]
