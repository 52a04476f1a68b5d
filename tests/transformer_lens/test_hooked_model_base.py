"""HookedModelBase: the one copy of what the three model classes share, and its behaviour."""

from __future__ import annotations

import pytest
import torch

from transformer_lens import HookedEncoder, HookedTransformer
from transformer_lens.activation_cache import ActivationCache
from transformer_lens.errors import CheckFailed
from transformer_lens.hooked_encoder_decoder import HookedEncoderDecoder
from transformer_lens.hooked_model_base import HookedModelBase

SHARED = (
    "init_config", "finish_init", "init_weights", "load_state_dict_checked", "_check_tokens", "_check_residual",
    "run_with_cache", "to", "cuda", "cpu", "mps",
)
BASE = dict(n_layers=2, d_model=16, n_heads=2, d_head=8, d_mlp=32, n_ctx=12, d_vocab=40, act_fn="relu", seed=3)


def _decoder() -> HookedTransformer:
    return HookedTransformer(dict(BASE, normalization_type="LN"))


def _encoder() -> HookedEncoder:
    return HookedEncoder(dict(BASE, act_fn="gelu", original_architecture="BertForMaskedLM", normalization_type="LN"))


def _encoder_decoder() -> HookedEncoderDecoder:
    cfg = dict(
        BASE,
        original_architecture="T5ForConditionalGeneration",
        normalization_type="RMS",
        relative_attention_num_buckets=8,
        relative_attention_max_distance=16,
        decoder_start_token_id=0,
    )
    return HookedEncoderDecoder(cfg)


BUILDERS = {"decoder": _decoder, "encoder": _encoder, "encoder_decoder": _encoder_decoder}


@pytest.mark.parametrize("cls", [HookedTransformer, HookedEncoder, HookedEncoderDecoder])
def test_shared_methods_are_defined_once(cls):
    assert issubclass(cls, HookedModelBase)
    for name in SHARED:
        owner = next(klass for klass in cls.__mro__ if name in vars(klass))
        assert owner is HookedModelBase, f"{cls.__name__}.{name} is redefined in {owner.__name__}"


@pytest.mark.parametrize("kind", BUILDERS)
def test_init_weights_follows_the_seed_and_the_rule(kind):
    first, second = BUILDERS[kind](), BUILDERS[kind]()
    for (name, a), b in zip(first.named_parameters(), second.parameters()):
        assert torch.equal(a, b), name  # same seed, same draws
        leaf = name.rsplit(".", 1)[-1]
        if leaf == "w":
            assert bool((a == 1).all()), name
        elif leaf.lstrip("_").startswith("W") or name.endswith("rel_pos_bias.weight"):
            assert 0 < float(a.detach().std()) < 3 * BASE.get("initializer_range", first.cfg.initializer_range), name
        else:
            assert bool((a == 0).all()), name


@pytest.mark.parametrize("kind", BUILDERS)
def test_load_state_dict_checked_names_the_mismatch(kind):
    model = BUILDERS[kind]()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    first = next(iter(state))
    with pytest.raises(ValueError, match=rf"missing \['{first}'\]"):
        model.load_state_dict_checked({k: v for k, v in state.items() if k != first})
    with pytest.raises(ValueError, match="unexpected"):
        model.load_state_dict_checked(dict(state, extra=torch.zeros(1)))
    bad = dict(state)
    bad[first] = torch.zeros(*state[first].shape, 2)
    with pytest.raises(ValueError, match=f"Checkpoint tensor {first} has shape"):
        model.load_state_dict_checked(bad)
    other = BUILDERS[kind]()
    other.load_state_dict_checked(state)
    assert all(torch.equal(a, b) for a, b in zip(other.state_dict().values(), state.values()))


@pytest.mark.parametrize("kind", BUILDERS)
def test_token_checks_are_the_same_one_line_errors(kind):
    model = BUILDERS[kind]()
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 40\)"):
        model._check_tokens(torch.tensor([[1, 40]]))
    with pytest.raises(TypeError, match="integer tensor"):
        model._check_tokens(torch.zeros(1, 3))
    assert model._check_tokens(torch.tensor([1, 2], dtype=torch.int32)).dtype == torch.long


def test_context_limit_only_with_learned_positions():
    too_long = torch.zeros(1, BASE["n_ctx"] + 1, dtype=torch.long)
    for model in (_decoder(), _encoder()):
        with pytest.raises(ValueError, match="exceeds the context length"):
            model._check_tokens(too_long)
    assert _encoder_decoder()._check_tokens(too_long).shape == too_long.shape  # relative positions
    assert HookedTransformer(dict(BASE, positional_embedding_type="rotary"))._check_tokens(too_long).shape == too_long.shape


def test_decoder_input_errors_say_which_input():
    with pytest.raises(ValueError, match=r"^decoder_input: token ids must lie"):
        _encoder_decoder()._check_tokens(torch.tensor([[99]]), "decoder_input")


@pytest.mark.parametrize("kind", BUILDERS)
def test_device_moves_keep_the_config_in_step(kind):
    model = BUILDERS[kind]()
    assert model.to(torch.float64) is model and model.cfg.dtype == torch.float64
    assert model.cpu() is model and model.cfg.device == "cpu"


@pytest.mark.parametrize("kind", BUILDERS)
def test_run_with_cache_gives_an_activation_cache_equal_to_the_forward(kind):
    model = BUILDERS[kind]()
    tokens = torch.randint(0, 40, (2, 5), generator=torch.Generator().manual_seed(0))
    extra = {"decoder_input": tokens[:, :3]} if kind == "encoder_decoder" else {}
    logits, cache = model.run_with_cache(tokens, **extra)
    assert isinstance(cache, ActivationCache) and len(cache) > 0 and set(cache.keys()) <= set(model.hook_dict)
    torch.testing.assert_close(logits, model(tokens, **extra), rtol=1e-5, atol=1e-6)
    _, plain = model.run_with_cache(tokens, return_cache_object=False, **extra)
    assert isinstance(plain, dict) and set(plain) == set(cache.keys())


def test_cache_budget_is_checked_where_hook_shapes_are_known():
    tokens = torch.zeros(1, 4, dtype=torch.long)
    for model in (_decoder(), _encoder()):
        with pytest.raises(MemoryError, match="run_with_cache would store"):
            model.run_with_cache(tokens, max_memory_mb=1e-6)
    with pytest.raises(ValueError, match="does not take max_memory_mb"):
        _encoder_decoder().run_with_cache(tokens, decoder_input=tokens, max_memory_mb=1e-6)


def test_vocab_from_the_tokenizer_or_a_clear_error():
    cfg = dict(BASE, d_vocab=-1)
    for cls in (HookedEncoder, HookedEncoderDecoder):
        with pytest.raises(CheckFailed, match="Must provide a tokenizer"):
            cls(dict(cfg, original_architecture="BertForMaskedLM" if cls is HookedEncoder else "T5ForConditionalGeneration"))
    with pytest.raises(ValueError, match="takes a config"):
        HookedEncoderDecoder("t5-small")


@pytest.mark.parametrize("kind", ["decoder", "encoder"])
def test_start_at_layer_takes_a_residual_stream_and_says_so(kind):
    model = BUILDERS[kind]()
    tokens = torch.tensor([[1, 2, 3]])
    residual = model(tokens, stop_at_layer=1)
    assert residual.shape == (1, 3, BASE["d_model"])
    torch.testing.assert_close(model(residual, start_at_layer=1), model(tokens))  # oracle: the whole forward
    with pytest.raises(ValueError, match=r"^with start_at_layer, input must be a residual stream \[batch, pos, d_model\], got \(1, 3\)$"):
        model(tokens, start_at_layer=1)
