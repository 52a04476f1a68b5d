"""HookedTransformer's upstream extras: parameter counts, composition scores, state-dict processing methods."""

from __future__ import annotations

import pytest
import torch

from transformer_lens import HookedTransformer, utils, weight_processing


@pytest.fixture(scope="module")
def attn_only():
    return HookedTransformer.from_pretrained("lenslab/attn-only-2l", device="cpu")


def test_n_params_total_counts_every_weight():
    cfg = dict(n_layers=2, d_model=32, d_head=8, n_heads=4, n_ctx=16, d_vocab=50, d_mlp=64, act_fn="gelu")
    model = HookedTransformer(cfg)
    d, v, ctx, m = 32, 50, 16, 64
    per_layer = (4 * d * d + 4 * d) + 2 * (2 * d) + (d * m + m + m * d + d)  # attention, two norms, MLP
    expected = v * d + ctx * d + 2 * per_layer + 2 * d + (d * v + v)
    assert model.n_params_total == expected
    assert model.n_params_total > model.cfg.n_params


def test_all_composition_scores_pair_every_head_with_later_ones(attn_only):
    scores = attn_only.all_composition_scores("K")
    assert scores.shape == (2, 8, 2, 8)
    assert not scores[1].any() and not scores[0, :, 0].any()  # only later layers can read a head
    left = attn_only.blocks[0].attn.OV[3]
    right = attn_only.blocks[1].attn.QK[5].T
    expected = utils.composition_scores(left, right, broadcast_dims=False)
    torch.testing.assert_close(scores[0, 3, 1, 5], expected)
    with pytest.raises(ValueError, match="mode must be one of"):
        attn_only.all_composition_scores("O")


def test_state_dict_methods_equal_the_weight_processing_functions():
    model = HookedTransformer.from_pretrained_no_processing("lenslab/gelu-2l", device="cpu")
    state_dict = {k: v.clone() for k, v in model.state_dict().items()}
    for method, function in [
        (model.fold_layer_norm, lambda sd: weight_processing.fold_layer_norm(sd, model.cfg)),
        (model.center_unembed, weight_processing.center_unembed),
        (model.fold_value_biases, lambda sd: weight_processing.fold_value_biases(sd, model.cfg)),
    ]:
        got, expected = method(dict(state_dict)), function(dict(state_dict))
        assert set(got) == set(expected)
        for key in got:
            torch.testing.assert_close(got[key], expected[key])


def test_get_pos_offset(attn_only):
    from transformer_lens import HookedTransformerKeyValueCache

    cache = HookedTransformerKeyValueCache.init_cache(attn_only.cfg, "cpu", batch_size=2)
    attn_only(attn_only.to_tokens(["a b c", "d e f"]), past_kv_cache=cache)
    assert attn_only.get_pos_offset(None, 2) == 0
    assert attn_only.get_pos_offset(cache, 2) == cache[0].past_keys.shape[1] > 0
    with pytest.raises(ValueError, match="batch size 2"):
        attn_only.get_pos_offset(cache, 3)


def test_config_helpers():
    from transformer_lens import HookedTransformerConfig

    cfg = HookedTransformerConfig(n_layers=1, d_model=8, n_ctx=4, d_head=2, d_vocab=10, act_fn="gelu")
    assert not cfg.is_layer_norm_activation()
    cfg.set_seed_everywhere(5)
    first = torch.rand(3)
    cfg.set_seed_everywhere(5)
    assert torch.equal(first, torch.rand(3))
