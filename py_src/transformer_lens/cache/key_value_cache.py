"""Upstream 3.x's path for the whole-model key/value cache (the class lives in ``kv_cache``)."""

from transformer_lens.kv_cache import HookedTransformerKeyValueCache as TransformerLensKeyValueCache

__all__ = ["TransformerLensKeyValueCache"]
