"""BLOOM (ALiBi), GPT-BigCode (multi-query attention) and OPT-350m (post-LN, projected embeddings)
against Hugging Face, on tiny random checkpoints.

BLOOM has 6 heads so the ALiBi slopes take the non-power-of-two branch; BigCode is checked with
multi-query on and off; OPT's word embeddings are narrower than its residual stream, as in opt-350m.
"""

from __future__ import annotations

import decoder_parity as dp
import pytest
import torch

FAMILIES = {
    "bloom-alibi": ("Bloom", dict(hidden_size=48, n_head=6, n_layer=2)),
    "bigcode-mqa": ("GPTBigCode", dict(n_embd=32, n_head=4, n_layer=2, n_positions=64)),
    "bigcode-mha": ("GPTBigCode", dict(n_embd=32, n_head=4, n_layer=2, n_positions=64, multi_query=False)),
    "opt-350m-postln": (
        "OPT",
        dict(hidden_size=32, num_attention_heads=4, num_hidden_layers=2, ffn_dim=64, word_embed_proj_dim=16, max_position_embeddings=64, do_layer_norm_before=False),
    ),
}


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def checkpoint(request, tmp_path_factory):
    prefix, kwargs = FAMILIES[request.param]
    directory = tmp_path_factory.mktemp(request.param)
    reference = dp.build_checkpoint(prefix, kwargs, directory, seed=len(request.param))
    return request.param, directory, reference


@pytest.fixture(scope="module")
def model(checkpoint):
    return dp.load(checkpoint[1], processed=True)


@pytest.mark.parametrize("processed", [True, False], ids=["processed", "unprocessed"])
def test_log_probs_match_hugging_face(checkpoint, model, processed):
    name, directory, reference = checkpoint
    ours = model if processed else dp.load(directory, processed=False)
    assert dp.max_log_prob_error(ours, reference) < dp.ATOL, name


def test_explicit_attention_path_matches_the_fused_one(checkpoint, model):
    """Hooking the pattern forces the explicit path (scores + ALiBi bias + mask); logits must not move."""
    with torch.no_grad():
        fused = model(dp.TOKENS)
        explicit = model.run_with_hooks(dp.TOKENS, fwd_hooks=[(lambda name: name.endswith("hook_pattern"), lambda act, hook: act)])
    torch.testing.assert_close(explicit, fused, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("padding_side", ["left", "right"])
def test_padded_batches_match_unpadded_hugging_face(checkpoint, model, padding_side):
    name, _, reference = checkpoint
    assert dp.max_padded_error(model, reference, padding_side) < dp.ATOL, name


def test_kv_cache_generation_equals_hugging_face_greedy(checkpoint, model):
    ours, theirs = dp.greedy_tokens_match_hf(model, checkpoint[2])
    assert torch.equal(ours, theirs)


def test_bfloat16_smoke(checkpoint):
    name, directory, reference = checkpoint
    finite, agreement = dp.low_precision_agreement(directory, reference, torch.bfloat16)
    assert finite and agreement > 0.7, (name, agreement)


def test_sidebar_hook_tree_and_patching(model):
    dp.check_sidebar_hook_tree(model)
    dp.check_patching_against_manual_hook(model)


def test_alibi_slopes_are_blooms():
    from transformers.models.bloom.modeling_bloom import build_alibi_tensor

    from transformer_lens.components.attention import alibi_slopes

    for n_heads in (1, 4, 6, 12, 16):
        # HF's tensor is slope * position; position 1 gives the slopes themselves.
        expected = build_alibi_tensor(torch.ones(1, 2), n_heads, torch.float32)[:, 0, 1]
        torch.testing.assert_close(alibi_slopes(n_heads), expected)


def test_unsupported_bloom_option_fails_in_one_line():
    import transformers

    from transformer_lens.loading.families import bloom

    config = transformers.BloomConfig(hidden_size=32, n_head=4, n_layer=1, apply_residual_connection_post_layernorm=True)
    with pytest.raises(ValueError, match="apply_residual_connection_post_layernorm.*nearest") as error:
        bloom.config_from_hf(config)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("prefix", "kwargs", "option"),
    [
        ("OPT", dict(hidden_size=32, num_attention_heads=4, num_hidden_layers=1, layer_norm_elementwise_affine=False), "layer_norm_elementwise_affine"),
        ("GPTBigCode", dict(n_embd=32, n_head=4, n_layer=1, add_cross_attention=True), "add_cross_attention"),
    ],
)
def test_other_unsupported_options_fail_in_one_line(prefix, kwargs, option):
    import transformers

    from transformer_lens.loading import registry

    config = getattr(transformers, f"{prefix}Config")(vocab_size=dp.VOCAB, **kwargs)
    with pytest.raises(ValueError, match="nearest") as error:
        registry.family_for_architecture(f"{prefix}ForCausalLM").config_from_hf(config)
    assert option in str(error.value) and "\n" not in str(error.value)
