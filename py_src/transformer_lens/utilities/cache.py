"""Upstream's ``transformer_lens.utilities.cache``: positions already held by a key/value cache."""

from __future__ import annotations

from typing import Any, Optional


def get_pos_offset(past_kv_cache: Optional[Any], batch_size: int) -> int:
    """How many positions ``past_kv_cache`` holds (0 without one): where a continuation's positions start.

    ``batch_size`` is accepted for upstream's signature; every row of a cache holds the same number
    of positions (padding is masked, not trimmed).
    """
    if past_kv_cache is None or not past_kv_cache.entries:
        return 0
    return int(past_kv_cache.entries[0].past_keys.shape[1])
