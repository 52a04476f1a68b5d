"""Mixture-of-experts families (Mixtral, OLMoE, gpt-oss) against Hugging Face, on tiny random checkpoints.

Four experts, two per token, so routing matters; Mixtral slides a window of 4 over every layer,
gpt-oss alternates sliding (window 3) and full attention layers and has attention sinks. Besides log-probs, the router's hooks are checked
against HF's own router logits, and the experts' hooks add up to the MLP output.
"""

from __future__ import annotations

import decoder_parity as dp
import pytest
import torch

_SIZES = dict(hidden_size=32, num_attention_heads=4, num_key_value_heads=2, num_hidden_layers=2, intermediate_size=24, max_position_embeddings=64)
FAMILIES = {
    "mixtral": ("Mixtral", dict(_SIZES, num_local_experts=4, num_experts_per_tok=2, sliding_window=4)),
    "olmoe": ("Olmoe", dict(_SIZES, num_experts=4, num_experts_per_tok=2)),
    "gpt-oss": (
        "GptOss",
        dict(_SIZES, head_dim=8, num_local_experts=4, num_experts_per_tok=2, sliding_window=3, rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
    ),
    # The released checkpoints' RoPE: YaRN (GptOssConfig's default rope_parameters).
    "gpt-oss-yarn": ("GptOss", dict(_SIZES, head_dim=8, num_local_experts=4, num_experts_per_tok=2, sliding_window=3)),
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


def test_router_hooks_match_hugging_face_router_logits(checkpoint):
    name, directory, reference = checkpoint
    model = dp.load(directory, processed=False)
    with torch.no_grad():
        hf_router = reference(dp.TOKENS, output_router_logits=True).router_logits
        _, cache = model.run_with_cache(dp.TOKENS)
    k = model.cfg.experts_per_token
    for layer in range(model.cfg.n_layers):
        logits = cache[f"blocks.{layer}.mlp.hook_router_logits"]
        torch.testing.assert_close(logits.reshape(-1, model.cfg.num_experts), hf_router[layer].float(), atol=1e-5, rtol=1e-5)
        indices = cache[f"blocks.{layer}.mlp.hook_expert_indices"]
        weights = cache[f"blocks.{layer}.mlp.hook_expert_weights"]
        assert indices.shape == weights.shape == (*dp.TOKENS.shape, k)
        # The chosen experts are the top-k logits (softmax and top-k commute).
        assert torch.equal(indices.sort(-1).values, logits.topk(k, dim=-1).indices.sort(-1).values)
        if model.cfg.norm_topk_prob or model.cfg.moe_style == "gpt_oss":
            torch.testing.assert_close(weights.sum(-1), torch.ones(dp.TOKENS.shape), atol=1e-5, rtol=0)


def test_expert_hooks_add_up_to_the_mlp_output(checkpoint, model):
    with torch.no_grad():
        _, cache = model.run_with_cache(dp.TOKENS)
    for layer in range(model.cfg.n_layers):
        indices = cache[f"blocks.{layer}.mlp.hook_expert_indices"].reshape(-1, model.cfg.experts_per_token)
        weights = cache[f"blocks.{layer}.mlp.hook_expert_weights"].reshape(indices.shape)
        total = torch.zeros(indices.shape[0], model.cfg.d_model)
        for expert in range(model.cfg.num_experts):
            token, slot = torch.where(indices == expert)
            out = cache[f"blocks.{layer}.mlp.experts.{expert}.hook_out"]
            assert out.shape == (len(token), model.cfg.d_model)
            total.index_add_(0, token, out * weights[token, slot, None])
        torch.testing.assert_close(total.view(*dp.TOKENS.shape, -1), cache[f"blocks.{layer}.hook_mlp_out"], atol=1e-5, rtol=1e-5)


def test_patching_expert_choice_reroutes_tokens(model):
    """Forcing every token to experts 0 and 1 with equal weight gives their average, by hand."""
    layer = model.cfg.n_layers - 1

    def force(act, hook):
        return torch.tensor([0, 1]).expand_as(act).clone()

    def halve(act, hook):
        return torch.full_like(act, 0.5)

    hooks = [(f"blocks.{layer}.mlp.hook_expert_indices", force), (f"blocks.{layer}.mlp.hook_expert_weights", halve)]
    with torch.no_grad(), model.hooks(fwd_hooks=hooks):
        _, cache = model.run_with_cache(dp.TOKENS, names_filter=lambda name: name.startswith(f"blocks.{layer}."))
        experts = model.blocks[layer].mlp.experts
        x = cache[f"blocks.{layer}.ln2.hook_normalized"].reshape(-1, model.cfg.d_model)
        expected = 0.5 * (experts[0](x) + experts[1](x))
    torch.testing.assert_close(cache[f"blocks.{layer}.hook_mlp_out"].reshape(-1, model.cfg.d_model), expected, atol=1e-5, rtol=1e-5)


def test_sidebar_hook_tree_and_patching(model):
    dp.check_sidebar_hook_tree(model)
    dp.check_patching_against_manual_hook(model)


@pytest.mark.parametrize(
    ("prefix", "kwargs", "option"),
    [
        ("Olmoe", dict(_SIZES, num_experts=4, num_experts_per_tok=2, clip_qkv=8.0), "clip_qkv"),
        ("Mixtral", dict(_SIZES, num_local_experts=4, num_experts_per_tok=2, router_jitter_noise=0.1), "router_jitter_noise"),
    ],
)
def test_unsupported_options_fail_in_one_line(prefix, kwargs, option):
    import transformers

    from transformer_lens.loading import registry

    config = getattr(transformers, f"{prefix}Config")(vocab_size=dp.VOCAB, **kwargs)
    family = registry.family_for_architecture(f"{prefix}ForCausalLM")
    with pytest.raises(ValueError) as error:
        family.config_from_hf(config)
    message = str(error.value)
    assert option in message and "\n" not in message
