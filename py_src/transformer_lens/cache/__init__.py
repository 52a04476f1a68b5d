"""Upstream 3.x's ``transformer_lens.cache`` package: the key/value cache under its 3.x names.

``TransformerLensKeyValueCache`` is the same class as ``HookedTransformerKeyValueCache`` (``kv_cache``).
"""

from transformer_lens.cache.key_value_cache import TransformerLensKeyValueCache
from transformer_lens.cache.key_value_cache_entry import TransformerLensKeyValueCacheEntry

__all__ = ["TransformerLensKeyValueCache", "TransformerLensKeyValueCacheEntry"]
