"""ActivationCache: indexing, whole-cache operations, and the residual-stream analysis.

Every decomposition is checked against what the forward pass itself cached (the parts must add
up to the residual stream, the normalized stream, or the logits), not only for shapes.
"""

from __future__ import annotations

import logging

import pytest
import torch

from transformer_lens.activation_cache import ActivationCache
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.hooked_transformer import HookedTransformer
from transformer_lens.utils import Slice

N_LAYERS, D_MODEL, N_HEADS, D_HEAD, D_VOCAB, N_CTX = 2, 32, 4, 8, 50, 16
BATCH, POS = 3, 7
ATOL = 1e-4


def make_model(processed: bool = False, **overrides) -> HookedTransformer:
    """A small model whose every parameter (norm weights and all biases too) is random."""
    settings = dict(
        n_layers=N_LAYERS, d_model=D_MODEL, n_ctx=N_CTX, d_head=D_HEAD, n_heads=N_HEADS,
        d_vocab=D_VOCAB, act_fn="gelu_new", seed=0, device="cpu",
    )  # fmt: skip
    settings.update(overrides)
    model = HookedTransformer(HookedTransformerConfig(**settings))
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.2 * torch.randn(param.shape, generator=generator))
    if processed:
        model.process_weights_()
    return model


@pytest.fixture(scope="module")
def tokens() -> torch.Tensor:
    return torch.randint(0, D_VOCAB, (BATCH, POS), generator=torch.Generator().manual_seed(2))


@pytest.fixture(scope="module")
def raw(tokens):
    """(model, logits, cache) for unprocessed weights (learned LayerNorms)."""
    model = make_model()
    with torch.no_grad():
        logits, cache = model.run_with_cache(tokens)
    return model, logits, cache


@pytest.fixture(scope="module")
def folded(tokens):
    """(model, logits, cache) after fold_ln / centering: norms are LayerNormPre."""
    model = make_model(processed=True)
    assert model.cfg.normalization_type == "LNPre"
    with torch.no_grad():
        logits, cache = model.run_with_cache(tokens)
    return model, logits, cache


def close(actual: torch.Tensor, expected: torch.Tensor, atol: float = ATOL) -> None:
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    torch.testing.assert_close(actual, expected, atol=atol, rtol=1e-4)


# ---- indexing ----------------------------------------------------------------------------


def test_full_names_shorthands_and_tuples_find_the_same_tensor(raw):
    _, _, cache = raw
    assert cache["blocks.1.hook_resid_post"] is cache.cache_dict["blocks.1.hook_resid_post"]
    assert cache["resid_post", 1] is cache["blocks.1.hook_resid_post"]
    assert cache["pattern", -1] is cache["blocks.1.attn.hook_pattern"]
    assert cache["attn", 0] is cache["blocks.0.attn.hook_pattern"]
    assert cache["scale", 0, "ln1"] is cache["blocks.0.ln1.hook_scale"]
    assert cache["normalized", -2, "ln2"] is cache["blocks.0.ln2.hook_normalized"]
    assert cache["q1"] is cache["blocks.1.attn.hook_q"]
    assert cache["embed"] is cache["hook_embed"]
    assert cache["scale"] is cache["ln_final.hook_scale"]
    assert cache["z", 0, "attn"].shape == (BATCH, POS, N_HEADS, D_HEAD)


def test_missing_key_raises_key_error_naming_close_keys(raw):
    _, _, cache = raw
    with pytest.raises(KeyError, match="blocks.0.attn.hook_pattern"):
        cache["blocks.0.attn.hook_patern"]
    with pytest.raises(KeyError, match="blocks.5.hook_resid_post"):
        cache["resid_post", 5]
    with pytest.raises(KeyError):
        cache[3.5]


def test_dict_protocol(raw):
    _, _, cache = raw
    keys = list(cache.cache_dict)
    assert list(cache) == keys == list(cache.keys())
    assert len(cache) == len(keys)
    assert list(cache.values())[0] is cache.cache_dict[keys[0]]
    assert dict(cache.items()) == cache.cache_dict
    assert "blocks.0.hook_resid_pre" in cache and "nope" not in cache
    assert repr(cache) == f"ActivationCache with keys {keys}"


def test_remove_batch_dim_and_batch_slicing(tokens):
    model = make_model()
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens[:1])
        _, cache_without = model.run_with_cache(tokens[:1], remove_batch_dim=True)
        _, batch_cache = model.run_with_cache(tokens)
    assert cache_without.has_batch_dim is False
    assert cache.remove_batch_dim() is cache and cache.has_batch_dim is False
    for key in cache.keys():
        close(cache[key], cache_without[key])
    assert cache["resid_pre", 0].shape == (POS, D_MODEL)
    with pytest.raises(ValueError, match="batch size 3"):
        batch_cache.remove_batch_dim()

    one = batch_cache.apply_slice_to_batch_dim(1)
    assert one.has_batch_dim is False
    close(one["pattern", 0], batch_cache["pattern", 0][1])
    two = batch_cache.apply_slice_to_batch_dim([0, 2])
    assert two.has_batch_dim is True
    close(two["resid_post", 1], batch_cache["resid_post", 1][[0, 2]])
    with pytest.raises(ValueError, match="without a batch dim"):
        one.apply_slice_to_batch_dim(0)


def test_to_moves_tensors_and_optionally_the_model(raw):
    model, _, cache = raw
    moved = ActivationCache(dict(cache.cache_dict), model)
    assert moved.to("cpu") is moved
    assert moved.to(torch.device("cpu"), move_model=True) is moved
    assert all(value.device.type == "cpu" for value in moved.values())


def test_toggle_autodiff_sets_global_grad_mode(raw, caplog):
    _, _, cache = raw
    try:
        with caplog.at_level(logging.WARNING):
            cache.toggle_autodiff(False)
        assert not torch.is_grad_enabled()
        assert "autodiff" in caplog.text
    finally:
        torch.set_grad_enabled(True)


# ---- accumulated_resid -------------------------------------------------------------------


def test_accumulated_resid_is_the_cached_stream(raw):
    _, _, cache = raw
    stack, labels = cache.accumulated_resid(return_labels=True)
    assert labels == ["0_pre", "1_pre", "final_post"]
    close(stack, torch.stack([cache["resid_pre", 0], cache["resid_pre", 1], cache["resid_post", 1]]))

    stack, labels = cache.accumulated_resid(layer=1, incl_mid=True, mlp_input=True, return_labels=True)
    assert labels == ["0_pre", "0_mid", "1_pre", "1_mid"]
    close(stack[3], cache["resid_mid", 1])

    last = cache.accumulated_resid(pos_slice=-1)
    assert last.shape == (N_LAYERS + 1, BATCH, D_MODEL)
    close(last[-1], cache["resid_post", 1][:, -1])
    with pytest.raises(ValueError, match="layer must be in"):
        cache.accumulated_resid(layer=N_LAYERS + 1)


def test_accumulated_resid_apply_ln_is_the_logit_lens(raw, folded):
    model, _, cache = raw
    lens = cache.accumulated_resid(apply_ln=True)
    # Each entry goes through the (learned) final norm on its own statistics; hook_normalized
    # holds the norm's output before its weight and bias (upstream 3.x).
    ln_final = model.ln_final
    close(lens[-1], (cache["ln_final.hook_normalized"] * ln_final.w + ln_final.b).detach())
    with torch.no_grad():
        close(lens[0], model.ln_final(cache["resid_pre", 0]))

    model, logits, cache = folded
    lens = cache.accumulated_resid(apply_ln=True)
    close(lens[-1] @ model.W_U + model.b_U, logits)

    # Before the unembed, the cached scale of the norm reading that layer is used.
    into_layer_1 = cache.accumulated_resid(layer=1, apply_ln=True)
    centered = cache["resid_pre", 0] - cache["resid_pre", 0].mean(-1, keepdim=True)
    close(into_layer_1[0], centered / cache["scale", 1, "ln1"])


# ---- decompose_resid ---------------------------------------------------------------------


def test_decompose_resid_sums_to_the_stream(raw):
    _, _, cache = raw
    stack, labels = cache.decompose_resid(return_labels=True)
    assert labels == ["embed", "pos_embed", "0_attn_out", "0_mlp_out", "1_attn_out", "1_mlp_out"]
    close(stack.sum(0), cache["resid_post", 1])

    stack, labels = cache.decompose_resid(layer=1, mlp_input=True, return_labels=True)
    assert labels[-1] == "1_attn_out"
    close(stack.sum(0), cache["resid_mid", 1])

    attn, attn_labels = cache.decompose_resid(mode="attn", incl_embeds=False, return_labels=True)
    mlp, mlp_labels = cache.decompose_resid(mode="mlp", incl_embeds=False, return_labels=True)
    assert attn_labels == ["0_attn_out", "1_attn_out"] and mlp_labels == ["0_mlp_out", "1_mlp_out"]
    close(attn.sum(0) + mlp.sum(0) + cache["embed"] + cache["pos_embed"], cache["resid_post", 1])

    assert cache.decompose_resid(layer=0, pos_slice=(2, 5)).shape == (2, BATCH, 3, D_MODEL)
    with pytest.raises(ValueError, match="mode"):
        cache.decompose_resid(mode="heads")


def test_decompose_resid_apply_ln_sums_to_the_normalized_stream(folded):
    _, _, cache = folded
    close(cache.decompose_resid(apply_ln=True).sum(0), cache["ln_final.hook_normalized"])
    into_mlp_1 = cache.decompose_resid(layer=1, mlp_input=True, apply_ln=True)
    close(into_mlp_1.sum(0), cache["normalized", 1, "ln2"])


# ---- heads -------------------------------------------------------------------------------


def test_head_results_add_up_to_attn_out(raw, tokens, caplog):
    model, _, cache = raw
    cache = ActivationCache(dict(cache.cache_dict), model)
    cache.compute_head_results()
    for layer in range(N_LAYERS):
        result = cache["result", layer]
        assert result.shape == (BATCH, POS, N_HEADS, D_MODEL)
        close(result.sum(-2) + model.blocks[layer].attn.b_O, cache["attn_out", layer])
    with caplog.at_level(logging.WARNING):
        cache.compute_head_results()
    assert "already cached" in caplog.text

    # The same numbers the forward pass hooks when it computes per-head results itself.
    model.cfg.use_attn_result = True
    try:
        with torch.no_grad():
            _, hooked = model.run_with_cache(tokens, names_filter=lambda name: name.endswith("hook_result"))
    finally:
        model.cfg.use_attn_result = False
    close(cache["result", 1], hooked["result", 1])


def test_stack_head_results(raw):
    model, _, cache = raw
    stack, labels = cache.stack_head_results(return_labels=True)
    assert labels == [f"L{l}H{h}" for l in range(N_LAYERS) for h in range(N_HEADS)]
    assert stack.shape == (N_LAYERS * N_HEADS, BATCH, POS, D_MODEL)
    close(stack[N_HEADS:].sum(0) + model.blocks[1].attn.b_O, cache["attn_out", 1])

    with_rest, labels = cache.stack_head_results(layer=1, incl_remainder=True, return_labels=True, pos_slice=-1)
    assert labels[-1] == "remainder" and with_rest.shape == (N_HEADS + 1, BATCH, D_MODEL)
    close(with_rest.sum(0), cache["resid_pre", 1][:, -1])

    assert cache.stack_head_results(layer=0).shape == (0, BATCH, POS, D_MODEL)
    close(cache.stack_head_results(layer=0, incl_remainder=True)[0], cache["resid_pre", 0])


def test_stack_head_results_apply_ln_and_full_decomposition_agree(folded):
    _, _, cache = folded
    heads = cache.stack_head_results(apply_ln=True)
    full, labels = cache.get_full_resid_decomposition(apply_ln=True, return_labels=True)
    close(heads, full[: len(heads)])
    assert labels[: len(heads)] == [f"L{l}H{h}" for l in range(N_LAYERS) for h in range(N_HEADS)]


def test_stack_activation(raw):
    _, _, cache = raw
    patterns = cache.stack_activation("pattern")
    assert patterns.shape == (N_LAYERS, BATCH, N_HEADS, POS, POS)
    close(patterns[1], cache["blocks.1.attn.hook_pattern"])
    assert cache.stack_activation("scale", layer=1, sublayer_type="ln2").shape == (1, BATCH, POS, 1)


# ---- neurons -----------------------------------------------------------------------------


def test_neuron_results_add_up_to_mlp_out(raw):
    model, _, cache = raw
    d_mlp = model.cfg.d_mlp
    neurons = cache.get_neuron_results(1)
    assert neurons.shape == (BATCH, POS, d_mlp, D_MODEL)
    close(neurons.sum(-2) + model.blocks[1].mlp.b_out, cache["mlp_out", 1])
    close(cache.get_neuron_results(0, neuron_slice=[3, 5], pos_slice=2), neurons_of(cache, model, 0)[:, 2, [3, 5]])

    stack, labels = cache.stack_neuron_results(2, return_labels=True, incl_remainder=True)
    assert labels[:2] == ["L0N0", "L0N1"] and labels[d_mlp] == "L1N0" and labels[-1] == "remainder"
    close(stack.sum(0), cache["resid_post", 1])

    one, labels = cache.stack_neuron_results(2, neuron_slice=7, return_labels=True)
    assert labels == ["L0N7", "L1N7"] and one.shape == (2, BATCH, POS, D_MODEL)
    close(one[1], neurons[:, :, 7])


def neurons_of(cache, model, layer):
    return cache["post", layer][..., None] * model.blocks[layer].mlp.W_out


def test_neuron_projection_with_and_without_ln(folded):
    model, _, cache = folded
    direction = torch.randn(D_MODEL, generator=torch.Generator().manual_seed(3))
    directions = torch.randn(D_MODEL, 2, generator=torch.Generator().manual_seed(4))
    full = cache.stack_neuron_results(2, incl_remainder=True)
    close(cache.stack_neuron_results(2, incl_remainder=True, project_output_onto=direction), full @ direction)
    full_ln = cache.stack_neuron_results(2, incl_remainder=True, apply_ln=True)
    projected_ln = cache.stack_neuron_results(2, incl_remainder=True, apply_ln=True, project_output_onto=directions)
    close(projected_ln, full_ln @ directions)
    close(cache.get_neuron_results(1, project_output_onto=direction), neurons_of(cache, model, 1) @ direction)


# ---- apply_ln_to_stack -------------------------------------------------------------------


def test_apply_ln_to_stack_uses_the_right_cached_scale(raw):
    _, _, cache = raw
    stack = cache.decompose_resid(layer=1)
    scaled = cache.apply_ln_to_stack(stack, layer=1)
    close(scaled, (stack - stack.mean(-1, keepdim=True)) / cache["scale", 1, "ln1"])
    mlp = cache.apply_ln_to_stack(stack, layer=1, mlp_input=True)
    close(mlp, (stack - stack.mean(-1, keepdim=True)) / cache["scale", 1, "ln2"])

    last = cache.decompose_resid(pos_slice=-1)
    picked = cache.apply_ln_to_stack(last[:, [0, 2]], pos_slice=-1, batch_slice=[0, 2], has_batch_dim=False)
    close(picked, cache.apply_ln_to_stack(last, pos_slice=-1)[:, [0, 2]])
    close(cache.apply_ln_to_stack(last, pos_slice=-1, batch_slice=[0, 2]), picked)


def test_apply_ln_to_stack_needs_the_cached_scale(tokens):
    model = make_model()
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens, names_filter=lambda name: "hook_scale" not in name)
    with pytest.raises(KeyError, match="ln_final.hook_scale"):
        cache.decompose_resid(apply_ln=True)


def test_models_without_norms_are_left_unscaled(tokens):
    model = make_model(normalization_type=None)
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens)
    stack = cache.decompose_resid()
    assert cache.apply_ln_to_stack(stack) is stack
    close(stack.sum(0), cache["resid_post", -1])


# ---- full decomposition and logit attribution --------------------------------------------


def test_full_resid_decomposition_sums_to_the_stream(raw):
    model, _, cache = raw
    stack, labels = cache.get_full_resid_decomposition(return_labels=True)
    d_mlp = model.cfg.d_mlp
    assert len(labels) == stack.shape[0] == N_LAYERS * (N_HEADS + d_mlp) + 3
    assert labels[-3:] == ["embed", "pos_embed", "bias"] and labels[N_LAYERS * N_HEADS] == "L0N0"
    close(stack.sum(0), cache["resid_post", -1])

    compact, labels = cache.get_full_resid_decomposition(expand_neurons=False, return_labels=True)
    assert labels == [f"L{l}H{h}" for l in range(2) for h in range(N_HEADS)] + ["0_mlp_out", "1_mlp_out", "embed", "pos_embed", "bias"]
    close(compact.sum(0), cache["resid_post", -1])

    into_mlp, labels = cache.get_full_resid_decomposition(layer=1, mlp_input=True, return_labels=True)
    assert labels.count("L1H0") == 1 and "L1N0" not in labels
    close(into_mlp.sum(0), cache["resid_mid", 1])
    close(cache.get_full_resid_decomposition(layer=0, pos_slice=-1).sum(0), cache["resid_pre", 0][:, -1])


def test_full_resid_decomposition_with_ln_matches_the_normalized_stream(folded):
    _, _, cache = folded
    close(cache.get_full_resid_decomposition(apply_ln=True).sum(0), cache["ln_final.hook_normalized"])
    into_mlp = cache.get_full_resid_decomposition(layer=1, mlp_input=True, apply_ln=True, pos_slice=[1, 4])
    close(into_mlp.sum(0), cache["normalized", 1, "ln2"][:, [1, 4]])
    direction = torch.randn(D_MODEL, generator=torch.Generator().manual_seed(5))
    full = cache.get_full_resid_decomposition(apply_ln=True)
    close(cache.get_full_resid_decomposition(apply_ln=True, project_output_onto=direction), full @ direction)


def test_logit_attrs_reproduce_the_model_logit_difference(folded):
    model, logits, cache = folded
    correct, wrong = torch.tensor([1, 2, 3]), torch.tensor([4, 5, 6])
    rows = torch.arange(BATCH)
    bias_diff = model.b_U[correct] - model.b_U[wrong]
    expected = logits[rows, -1, correct] - logits[rows, -1, wrong] - bias_diff

    final = cache.accumulated_resid(layer=-1, pos_slice=-1)[-1:]
    attrs = cache.logit_attrs(final, tokens=correct, incorrect_tokens=wrong, pos_slice=-1)
    assert attrs.shape == (1, BATCH)
    close(attrs[0], expected)

    parts, labels = cache.decompose_resid(pos_slice=-1, return_labels=True)
    attrs = cache.logit_attrs(parts, tokens=correct, incorrect_tokens=wrong, pos_slice=-1)
    assert attrs.shape == (len(labels), BATCH)
    close(attrs.sum(0), expected)

    # One token per example, broadcast over every position.
    per_pos = cache.logit_attrs(cache.decompose_resid(), tokens=correct)
    assert per_pos.shape == (6, BATCH, POS)
    close(per_pos.sum(0), logits[rows, :, correct] - model.b_U[correct][:, None])
    # A single token and a batch slice (applied to the stack too, unless has_batch_dim=False).
    one = cache.logit_attrs(parts, tokens=7, pos_slice=-1, batch_slice=(1, 3))
    close(one.sum(0), logits[1:, -1, 7] - model.b_U[7])
    presliced = cache.logit_attrs(parts[:, 1:], tokens=7, pos_slice=-1, batch_slice=(1, 3), has_batch_dim=False)
    close(presliced, one)
    with pytest.raises(ValueError, match="same shape"):
        cache.logit_attrs(parts, tokens=correct, incorrect_tokens=torch.tensor([4, 5]))


def test_analysis_without_batch_dim(tokens):
    model = make_model(processed=True)
    with torch.no_grad():
        logits, cache = model.run_with_cache(tokens[:1], remove_batch_dim=True)
    stack, labels = cache.get_full_resid_decomposition(apply_ln=True, return_labels=True)
    assert stack.shape == (len(labels), POS, D_MODEL)
    close(stack.sum(0), cache["ln_final.hook_normalized"])
    attrs = cache.logit_attrs(cache.decompose_resid(pos_slice=-1), tokens=3, pos_slice=-1)
    close(attrs.sum(0), logits[0, -1, 3] - model.b_U[3])
    heads = cache.stack_head_results(pos_slice=Slice((2, 4)))
    assert heads.shape == (N_LAYERS * N_HEADS, 2, D_MODEL)


@pytest.mark.parametrize(
    "overrides",
    [dict(attn_only=True), dict(n_key_value_heads=2), dict(normalization_type="RMS", act_fn="silu", gated_mlp=True)],
    ids=["attn_only", "gqa", "rms_gated"],
)
def test_decompositions_hold_for_other_architectures(tokens, overrides):
    model = make_model(**overrides)
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens)
    close(cache.get_full_resid_decomposition().sum(0), cache["resid_post", -1])
    close(cache.decompose_resid().sum(0), cache["resid_post", -1])
    if overrides.get("normalization_type") == "RMS":
        # RMS scales without centering.
        stack = cache.decompose_resid()
        close(cache.apply_ln_to_stack(stack), stack / cache["ln_final.hook_scale"])
