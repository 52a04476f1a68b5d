"""Upstream's ``transformer_lens.utilities.cache``: positions already held by a key/value cache."""

from transformer_lens.kv_cache import get_pos_offset

__all__ = ["get_pos_offset"]
