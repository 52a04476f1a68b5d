"""Upstream's ``transformer_lens.components.grouped_query_attention`` module path (the class lives in ``components.attention``)."""

from transformer_lens.components.attention import GroupedQueryAttention

__all__ = ["GroupedQueryAttention"]
