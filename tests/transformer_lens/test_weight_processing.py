"""Upstream's ``ProcessWeights`` API: its state-dict layout, checked against the model's own outputs."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from transformer_lens import HookedTransformer
from transformer_lens.weight_processing import ProcessWeights


def _model(**overrides) -> HookedTransformer:
    cfg = dict(n_layers=2, d_model=16, n_ctx=12, d_head=4, n_heads=4, d_vocab=30, act_fn="gelu", seed=3, device="cpu")
    model = HookedTransformer({**cfg, **overrides})
    with torch.no_grad():  # norms off their identity initialisation, so folding them matters
        for name, param in model.named_parameters():
            if ".ln" in name or name.startswith("ln_final"):
                param.add_(0.3 * torch.randn_like(param))
    return model


TOKENS = torch.randint(0, 30, (2, 7), generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("normalization_type", ["LN", "RMS"])
def test_folded_norms_stay_as_identity_parameters_and_outputs_are_unchanged(normalization_type):
    model = _model(normalization_type=normalization_type)
    state_dict = model.state_dict()
    folded = ProcessWeights.fold_layer_norm(state_dict, model.cfg)
    # Upstream's layout: same keys, the norms now w = 1 (and b = 0), their scale moved into readers.
    assert folded.keys() == state_dict.keys()
    for key in ("blocks.0.ln1.w", "blocks.1.ln2.w", "ln_final.w"):
        assert torch.equal(folded[key], torch.ones_like(state_dict[key]))
        if normalization_type == "LN":
            assert torch.equal(folded[key[:-1] + "b"], torch.zeros_like(state_dict[key]))
    assert not torch.equal(folded["blocks.0.attn.W_Q"], state_dict["blocks.0.attn.W_Q"])
    # The same model class loads it and computes the same function.
    again = HookedTransformer(model.cfg)
    again.load_state_dict(folded)
    assert torch.allclose(again(TOKENS), model(TOKENS), atol=1e-4)


def test_process_weights_keeps_upstreams_keys_and_the_function():
    model = _model()
    state_dict = model.state_dict()
    processed = ProcessWeights.process_weights(state_dict, model.cfg)
    assert processed.keys() == state_dict.keys()
    again = HookedTransformer(model.cfg)
    again.load_state_dict(processed)
    # centre_unembed shifts every logit of a position alike: compare log-probabilities.
    assert torch.allclose(again(TOKENS).log_softmax(-1), model(TOKENS).log_softmax(-1), atol=1e-4)


def test_centering_leaves_a_rotary_models_stray_positional_table_alone():
    model = _model()
    state_dict = model.state_dict()
    rotary = dataclasses.replace(model.cfg, positional_embedding_type="rotary")
    centered = ProcessWeights.center_writing_weights(state_dict, rotary)
    assert torch.equal(centered["pos_embed.W_pos"], state_dict["pos_embed.W_pos"])
    assert torch.allclose(centered["embed.W_E"].mean(-1), torch.zeros(30), atol=1e-6)
    standard = ProcessWeights.center_writing_weights(state_dict, model.cfg)
    assert torch.allclose(standard["pos_embed.W_pos"].mean(-1), torch.zeros(12), atol=1e-6)
