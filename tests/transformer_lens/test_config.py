"""``TransformerLensConfig``: upstream's base config, which needs no ``act_fn``."""

from __future__ import annotations

import pytest

from transformer_lens.config import HookedTransformerConfig, TransformerLensConfig
from transformer_lens.errors import CheckFailed


def test_base_config_needs_no_activation_and_every_config_is_one():
    cfg = TransformerLensConfig(d_model=32, d_head=8, n_layers=1, n_ctx=16, n_heads=4)
    assert cfg.act_fn is None and cfg.d_mlp == 128 and cfg.n_key_value_heads is None
    assert isinstance(cfg, HookedTransformerConfig)
    full = HookedTransformerConfig(d_model=32, d_head=8, n_layers=1, n_ctx=16, act_fn="relu")
    assert isinstance(full, TransformerLensConfig) and issubclass(HookedTransformerConfig, TransformerLensConfig)
    # The key/value cache needs only sizes and dtype.
    from transformer_lens.past_key_value_caching import HookedTransformerKeyValueCache

    cache = HookedTransformerKeyValueCache.init_cache(cfg, "cpu", batch_size=2)
    assert len(cache.entries) == 1


def test_an_unknown_activation_and_a_model_without_one_are_still_refused():
    with pytest.raises(CheckFailed, match="act_fn must be one of"):
        TransformerLensConfig(d_model=32, d_head=8, n_layers=1, n_ctx=16, act_fn="nope")
    with pytest.raises(CheckFailed, match="act_fn must be specified"):
        HookedTransformerConfig(d_model=32, d_head=8, n_layers=1, n_ctx=16)
    from transformer_lens import HookedTransformer

    with pytest.raises(CheckFailed, match="act_fn must be specified for a model with MLPs"):
        HookedTransformer(TransformerLensConfig(d_model=32, d_head=8, n_layers=1, n_ctx=16, d_vocab=10))
