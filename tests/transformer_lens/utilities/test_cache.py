"""``utilities.cache.get_pos_offset`` against the model's own cached continuation."""

from __future__ import annotations

import torch

from transformer_lens import HookedTransformer
from transformer_lens.past_key_value_caching import HookedTransformerKeyValueCache
from transformer_lens.utilities.cache import get_pos_offset


def test_offset_is_the_number_of_cached_positions():
    model = HookedTransformer(dict(n_layers=1, d_model=16, n_ctx=12, d_head=4, d_vocab=20, act_fn="relu", seed=0))
    tokens = torch.randint(0, 20, (2, 9), generator=torch.Generator().manual_seed(0))
    assert get_pos_offset(None, batch_size=2) == 0
    cache = HookedTransformerKeyValueCache.init_cache(model.cfg, "cpu", batch_size=2)
    assert get_pos_offset(cache, batch_size=2) == 0
    model(tokens[:, :5], past_kv_cache=cache)
    assert get_pos_offset(cache, batch_size=2) == 5
    # A continuation placed at that offset gives the uncached logits (learned positions are offset by it).
    continued = model(tokens[:, 5:], past_kv_cache=cache)
    assert torch.allclose(continued, model(tokens)[:, 5:], atol=1e-5)
    assert isinstance(get_pos_offset(cache, batch_size=2), int) and get_pos_offset(cache, 2) == 9
