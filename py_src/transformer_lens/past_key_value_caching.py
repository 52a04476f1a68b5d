"""Upstream 2.x's ``transformer_lens.past_key_value_caching`` module path (the classes live in ``kv_cache``)."""

from transformer_lens.kv_cache import HookedTransformerKeyValueCache
from transformer_lens.kv_cache import KeyValueCacheEntry as HookedTransformerKeyValueCacheEntry

__all__ = ["HookedTransformerKeyValueCache", "HookedTransformerKeyValueCacheEntry"]
