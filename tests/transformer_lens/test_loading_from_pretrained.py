"""transformer_lens.loading_from_pretrained: each step of from_pretrained, equal to what from_pretrained builds."""

from __future__ import annotations

import pytest
import torch

import transformer_lens.loading_from_pretrained as loading_from_pretrained
from transformer_lens import HookedTransformer, loading

# Fields the model sets itself after the config is built (from its tokenizer, or because weights follow).
_SET_BY_THE_MODEL = {"init_weights", "tokenizer_prepends_bos", "d_vocab_out", "device"}


def _differences(a, b) -> dict:
    a, b = a.to_dict(), b.to_dict()
    return {k: (a[k], b[k]) for k in a if a[k] != b[k] and k not in _SET_BY_THE_MODEL}


@pytest.mark.parametrize("name", ["lenslab/gelu-2l", "gpt2"])
def test_config_equals_from_pretrained(name):
    model = HookedTransformer.from_pretrained(name, device="cpu")
    assert _differences(loading_from_pretrained.get_pretrained_model_config(name, fold_ln=True), model.cfg) == {}
    raw = HookedTransformer.from_pretrained_no_processing(name, device="cpu")
    assert _differences(loading_from_pretrained.get_pretrained_model_config(name), raw.cfg) == {}


@pytest.mark.parametrize("name", ["lenslab/attn-only-2l", "gpt2"])
def test_state_dict_equals_the_unprocessed_model(name):
    cfg = loading_from_pretrained.get_pretrained_model_config(name)
    state_dict = loading_from_pretrained.get_pretrained_state_dict(name, cfg)
    expected = HookedTransformer.from_pretrained_no_processing(name, device="cpu").state_dict()
    expected = {k: v for k, v in expected.items() if k in state_dict}
    assert set(state_dict) == set(expected)
    for key, tensor in state_dict.items():
        torch.testing.assert_close(tensor, expected[key], msg=key)


def test_overrides_and_dtype():
    cfg = loading_from_pretrained.get_pretrained_model_config("gpt2", first_n_layers=1, dtype="float16", use_attn_result=True)
    assert (cfg.n_layers, cfg.dtype, cfg.use_attn_result) == (1, torch.float16, True)
    with pytest.raises(TypeError, match="unexpected keyword argument 'flavour'"):
        loading_from_pretrained.get_pretrained_model_config("gpt2", flavour="vanilla")


def test_checkpoint_labels():
    labels, kind = loading_from_pretrained.get_checkpoint_labels("EleutherAI/pythia-70m")
    assert kind == "step" and labels[:3] == [0, 1, 2] and labels[-1] == 143000
    assert loading_from_pretrained.PYTHIA_CHECKPOINTS == labels
    with pytest.raises(ValueError, match="no published training checkpoints"):
        loading_from_pretrained.get_checkpoint_labels("gpt2")


def test_names_of_our_loading_package_are_the_same_objects():
    for name in loading.__all__:
        assert getattr(loading_from_pretrained, name) is getattr(loading, name)


def test_fill_missing_keys_takes_the_models_values():
    model = HookedTransformer(dict(n_layers=1, d_model=8, n_ctx=4, d_head=2, n_heads=4, d_vocab=10, attn_only=True))
    partial = {k: torch.zeros_like(v) for k, v in model.state_dict().items() if not k.endswith("b_Q")}
    filled = model.fill_missing_keys(partial)
    assert set(filled) == set(model.state_dict())
    assert torch.equal(filled["blocks.0.attn.b_Q"], model.blocks[0].attn.b_Q) and not filled["embed.W_E"].any()
