"""Key/value cache for fast generation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch

from transformer_lens import memory_budget
from transformer_lens.config import HookedTransformerConfig


@dataclass
class KeyValueCacheEntry:
    """Cached keys and values of one layer: ``"batch pos n_kv_heads d_head"``."""

    past_keys: torch.Tensor
    past_values: torch.Tensor
    frozen: bool = False

    @classmethod
    def init_cache_entry(cls, cfg: HookedTransformerConfig, device, batch_size: int = 1) -> "KeyValueCacheEntry":
        n_kv = cfg.n_key_value_heads or cfg.n_heads
        empty = lambda: torch.empty(batch_size, 0, n_kv, cfg.d_head, device=device, dtype=cfg.dtype)  # noqa: E731
        return cls(empty(), empty())

    def append(self, keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        all_keys = torch.cat([self.past_keys, keys], dim=1)
        all_values = torch.cat([self.past_values, values], dim=1)
        if not self.frozen:
            self.past_keys, self.past_values = all_keys, all_values
        return all_keys, all_values


@dataclass
class HookedTransformerKeyValueCache:
    """One entry per layer plus the attention mask of every cached position."""

    entries: list[KeyValueCacheEntry]
    previous_attention_mask: torch.Tensor
    frozen: bool = False
    _unused: Optional[int] = field(default=None, repr=False)

    @classmethod
    def init_cache(
        cls,
        cfg: HookedTransformerConfig,
        device,
        batch_size: int = 1,
        max_positions: Optional[int] = None,
        max_memory_mb: Optional[float] = None,
    ) -> "HookedTransformerKeyValueCache":
        """An empty cache; with ``max_positions`` (how long it will grow), first a check that
        ``batch_size x max_positions`` keys and values fit ``max_memory_mb`` (default: the memory
        free on ``device``), else a one-line ``MemoryError`` naming the numbers."""
        if max_positions is not None:
            memory_budget.check_kv_cache_fits(cfg, device, batch_size, max_positions, max_memory_mb)
        else:
            memory_budget.check_memory_mb(max_memory_mb)
        entries = [KeyValueCacheEntry.init_cache_entry(cfg, device, batch_size) for _ in range(cfg.n_layers)]
        return cls(entries, torch.empty(batch_size, 0, device=device, dtype=torch.long))

    def freeze(self) -> None:
        self.frozen = True
        for entry in self.entries:
            entry.frozen = True

    def unfreeze(self) -> None:
        self.frozen = False
        for entry in self.entries:
            entry.frozen = False

    def append_attention_mask(self, attention_mask: torch.Tensor) -> torch.Tensor:
        full = torch.cat([self.previous_attention_mask, attention_mask.to(self.previous_attention_mask)], dim=-1)
        if not self.frozen:
            self.previous_attention_mask = full
        return full

    def __getitem__(self, index: int) -> KeyValueCacheEntry:
        return self.entries[index]


def get_pos_offset(past_kv_cache: Optional[HookedTransformerKeyValueCache], batch_size: int) -> int:
    """How many positions ``past_kv_cache`` holds (0 without one): where a continuation's positions start.

    ``batch_size`` is accepted for upstream's signature; every row of a cache holds the same number
    of positions (padding is masked, not trimmed).
    """
    if past_kv_cache is None or not past_kv_cache.entries:
        return 0
    return int(past_kv_cache.entries[0].past_keys.shape[1])
