"""Upstream 3.x's path for one layer's key/value cache entry (the class lives in ``kv_cache``)."""

from transformer_lens.kv_cache import KeyValueCacheEntry as TransformerLensKeyValueCacheEntry

__all__ = ["TransformerLensKeyValueCacheEntry"]
