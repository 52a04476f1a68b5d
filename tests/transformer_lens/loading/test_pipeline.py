"""from_pretrained: names, aliases, overrides, weight processing and bad input."""

import shutil
import time

import pytest
import torch

from transformer_lens import HookedTransformer, HookedTransformerConfig
from transformer_lens.loading import registry


def test_alias_maps_to_the_official_name(gpt2_hub):
    model = HookedTransformer.from_pretrained("gpt2-small", device="cpu")
    assert model.cfg.model_name == "gpt2"
    assert model.cfg.original_architecture == "GPT2LMHeadModel"
    assert registry.get_official_model_name("GPT2-Small") == "gpt2"
    assert {"gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl", "distilgpt2"} <= set(registry.OFFICIAL_MODEL_NAMES)
    assert registry.get_official_model_name("pythia-70m") == "EleutherAI/pythia-70m"
    assert registry.get_official_model_name("pythia-160m-deduped") == "EleutherAI/pythia-160m-deduped"
    assert registry.get_official_model_name("opt-125m") == "facebook/opt-125m"


def test_hf_config_overrides_map_onto_our_config(gpt2_checkpoint_dir, gpt2_hf_model):
    model = HookedTransformer.from_pretrained(str(gpt2_checkpoint_dir), activation_function="relu", device="cpu")
    assert model.cfg.act_fn == "relu"
    # Oracle: HF's model with the same override.
    from transformers import GPT2LMHeadModel

    hf = GPT2LMHeadModel.from_pretrained(gpt2_checkpoint_dir, activation_function="relu").eval()
    tokens = torch.randint(0, 50257, (1, 9), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = hf(tokens).logits.log_softmax(-1)
    torch.testing.assert_close(model(tokens).log_softmax(-1), expected, atol=1e-4, rtol=1e-4)


def test_our_config_fields_are_accepted_as_overrides(gpt2_checkpoint_dir):
    model = HookedTransformer.from_pretrained(str(gpt2_checkpoint_dir), use_attn_result=True, device="cpu")
    assert model.cfg.use_attn_result


def test_unknown_override_raises_type_error_naming_it(gpt2_checkpoint_dir):
    with pytest.raises(TypeError, match="not_a_real_key"):
        HookedTransformer.from_pretrained(str(gpt2_checkpoint_dir), not_a_real_key=3)


def test_unknown_model_gives_a_one_line_reason():
    with pytest.raises(OSError) as info:
        HookedTransformer.from_pretrained("someone/does-not-exist-anywhere")
    message = str(info.value)
    assert "does-not-exist-anywhere" in message and "\n" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_bert_checkpoint_points_to_hooked_encoder(tmp_path):
    from transformers import BertConfig, BertForMaskedLM

    BertForMaskedLM(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="HookedEncoder"):
        HookedTransformer.from_pretrained(str(tmp_path))


def test_bert_names_point_to_hooked_encoder_even_when_not_cached():
    with pytest.raises(ValueError, match="HookedEncoder"):
        HookedTransformer.from_pretrained("bert-large-cased")


def test_checkpoint_without_tokenizer_files_gets_none(make_gpt2_checkpoint):
    directory, _ = make_gpt2_checkpoint(seed=3, n_layer=1, n_head=2, n_embd=16)
    model = HookedTransformer.from_pretrained(str(directory), device="cpu")
    assert model.tokenizer is None
    with pytest.raises(ValueError, match="no tokenizer"):
        model.to_tokens("text")


def test_unsupported_architecture_lists_supported_ones(gpt2_checkpoint_dir, tmp_path):
    import json

    shutil.copytree(gpt2_checkpoint_dir, tmp_path / "ckpt")
    config_path = tmp_path / "ckpt" / "config.json"
    config = json.loads(config_path.read_text())
    config["architectures"] = ["FalconForCausalLM"]
    config_path.write_text(json.dumps(config))
    with pytest.raises(ValueError, match="FalconForCausalLM is not supported; supported: .*GPT2LMHeadModel.*LlamaForCausalLM"):
        HookedTransformer.from_pretrained(str(tmp_path / "ckpt"))


def test_truncated_weights_file_is_named(gpt2_checkpoint_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(gpt2_checkpoint_dir, broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(OSError, match="model.safetensors is corrupted or truncated"):
        HookedTransformer.from_pretrained(str(broken))


def test_mismatched_weights_name_the_tensor(gpt2_checkpoint_dir):
    model = HookedTransformer.from_pretrained_no_processing(str(gpt2_checkpoint_dir), device="cpu")
    state = model.state_dict()
    state["blocks.0.mlp.W_in"] = state["blocks.0.mlp.W_in"][:, :10]
    with pytest.raises(ValueError, match=r"blocks.0.mlp.W_in has shape \(64, 10\)"):
        model.load_state_dict_checked(state)


def test_processing_folds_layer_norms_and_centers(gpt2_checkpoint_dir):
    model = HookedTransformer.from_pretrained(str(gpt2_checkpoint_dir), device="cpu")
    assert model.cfg.normalization_type == "LNPre"
    assert not hasattr(model.blocks[0].ln1, "w")
    torch.testing.assert_close(model.W_E.mean(-1), torch.zeros(model.cfg.d_vocab), atol=1e-6, rtol=0)
    torch.testing.assert_close(model.W_out.mean(-1), torch.zeros_like(model.W_out.mean(-1)), atol=1e-6, rtol=0)
    torch.testing.assert_close(model.W_U.mean(-1), torch.zeros(model.cfg.d_model), atol=1e-6, rtol=0)
    assert torch.all(model.b_V == 0)
    raw = HookedTransformer.from_pretrained_no_processing(str(gpt2_checkpoint_dir), device="cpu")
    assert raw.cfg.normalization_type == "LN" and raw.b_V.abs().sum() > 0


def test_refactored_attention_keeps_qk_and_ov_circuits(gpt2_checkpoint_dir):
    plain = HookedTransformer.from_pretrained(str(gpt2_checkpoint_dir), device="cpu")
    refactored = HookedTransformer.from_pretrained(str(gpt2_checkpoint_dir), refactor_factored_attn_matrices=True, device="cpu")
    tokens = torch.randint(0, 50257, (2, 8), generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(refactored(tokens).log_softmax(-1), plain(tokens).log_softmax(-1), atol=1e-4, rtol=1e-4)
    ov_plain = plain.W_V[0] @ plain.W_O[0]
    ov_ref = refactored.W_V[0] @ refactored.W_O[0]
    torch.testing.assert_close(ov_ref, ov_plain, atol=1e-4, rtol=1e-4)


def test_dtype_and_first_n_layers(gpt2_checkpoint_dir):
    model = HookedTransformer.from_pretrained(str(gpt2_checkpoint_dir), dtype="bfloat16", first_n_layers=2, device="cpu")
    assert model.cfg.n_layers == 2 and len(model.blocks) == 2
    assert model.W_E.dtype == torch.bfloat16 and model.cfg.dtype == torch.bfloat16
    logits = model(model.to_tokens("bf16 smoke test"))
    assert logits.dtype == torch.bfloat16 and torch.isfinite(logits.float()).all()


def test_config_validation_gives_one_line_reasons():
    with pytest.raises(ValueError, match="normalization_type must be one of"):
        HookedTransformerConfig(n_layers=1, d_model=8, n_ctx=4, d_head=2, d_vocab=5, act_fn="relu", normalization_type="BN")
    with pytest.raises(ValueError, match="act_fn must be one of"):
        HookedTransformerConfig(n_layers=1, d_model=8, n_ctx=4, d_head=2, d_vocab=5, act_fn="gelu_nope")
    with pytest.raises(ValueError, match="act_fn must be specified") as error:
        HookedTransformerConfig(n_layers=1, d_model=8, n_ctx=4, d_head=2, d_vocab=5)
    assert isinstance(error.value, AssertionError)  # upstream asserts these
    cfg = HookedTransformerConfig(n_layers=2, d_model=8, n_ctx=4, d_head=2, d_vocab=5, act_fn="relu")
    assert cfg.n_heads == 4 and cfg.d_mlp == 32 and cfg.attn_scale == 2 ** 0.5 and cfg.d_vocab_out == 5


def test_pythia_checkpoints_map_to_hub_revisions():
    assert registry.checkpoint_revision("EleutherAI/pythia-70m", 3, None) == "step4"
    assert registry.checkpoint_revision("EleutherAI/pythia-160m-deduped", None, 143000) == "step143000"
    with pytest.raises(ValueError, match="not a Pythia checkpoint step"):
        registry.checkpoint_revision("EleutherAI/pythia-70m", None, 1234)
    with pytest.raises(ValueError, match="gpt2 has no published training checkpoints"):
        HookedTransformer.from_pretrained("gpt2", checkpoint_index=1)


@pytest.mark.parametrize(
    "edit, message",
    [
        ({"n_embd": 32}, r"embed.W_E has shape \(50257, 64\) but the config implies \(50257, 32\)"),
        ({"n_layer": 9}, r"Checkpoint lacks tensor 'h.8.ln_1.weight'"),
        ({"n_head": 5}, r"Checkpoint weights do not match its config \(GPT2LMHeadModel\)"),
    ],
)
def test_weights_that_do_not_fit_the_config_are_named(gpt2_checkpoint_dir, tmp_path, edit, message):
    import json

    shutil.copytree(gpt2_checkpoint_dir, tmp_path / "ckpt")
    config_path = tmp_path / "ckpt" / "config.json"
    config = {**json.loads(config_path.read_text()), **edit}
    config_path.write_text(json.dumps(config))
    with pytest.raises(ValueError, match=message):
        HookedTransformer.from_pretrained(str(tmp_path / "ckpt"))


# ---- first_n_layers ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gelu_2l():
    return HookedTransformer.from_pretrained("lenslab/gelu-2l", device="cpu")


@pytest.mark.parametrize("load", ["from_pretrained", "from_pretrained_no_processing"])
def test_first_n_layers_is_the_full_models_first_blocks(gelu_2l, load):
    full = gelu_2l if load == "from_pretrained" else HookedTransformer.from_pretrained_no_processing("lenslab/gelu-2l", device="cpu")
    first = getattr(HookedTransformer, load)("lenslab/gelu-2l", first_n_layers=1, device="cpu")
    assert first.cfg.n_layers == 1 and len(first.blocks) == 1
    tokens = first.to_tokens(["The first layer alone", "and a second prompt"])
    with torch.no_grad():
        logits, cache = first.run_with_cache(tokens)
        _, full_cache = full.run_with_cache(tokens)
        # Oracle: the 2-layer model's residual stream after block 0, then its own final norm and unembedding.
        resid = full_cache["blocks.0.hook_resid_post"]
        expected_logits = full.unembed(full.ln_final(resid))
    torch.testing.assert_close(cache["blocks.0.hook_resid_post"], resid, rtol=0, atol=0)
    torch.testing.assert_close(logits, expected_logits, rtol=1e-5, atol=1e-5)


def test_first_n_layers_of_a_hugging_face_checkpoint(gpt2_checkpoint_dir):
    full = HookedTransformer.from_pretrained(str(gpt2_checkpoint_dir), device="cpu")
    first = HookedTransformer.from_pretrained(str(gpt2_checkpoint_dir), first_n_layers=3, device="cpu")
    assert full.cfg.n_layers == 8 and first.cfg.n_layers == 3
    tokens = torch.randint(0, 50257, (2, 6), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        _, cache = first.run_with_cache(tokens)
        _, full_cache = full.run_with_cache(tokens)
    for layer in range(3):
        name = f"blocks.{layer}.hook_resid_post"
        torch.testing.assert_close(cache[name], full_cache[name], rtol=0, atol=0)


@pytest.mark.parametrize(
    "value, error, message",
    [
        (5, ValueError, "first_n_layers=5 is out of range: lenslab/gelu-2l has 2 layers, so it must lie between 1 and 2"),
        (3, ValueError, "first_n_layers=3 is out of range: lenslab/gelu-2l has 2 layers"),
        (0, ValueError, "first_n_layers=0 is out of range: lenslab/gelu-2l has 2 layers"),
        (-1, ValueError, "first_n_layers=-1 is out of range"),
        (1.0, TypeError, "first_n_layers must be an int or None, got float"),
        (True, TypeError, "first_n_layers must be an int or None, got bool"),
    ],
)
def test_first_n_layers_out_of_range_names_both_numbers(value, error, message):
    with pytest.raises(error, match=message) as info:
        HookedTransformer.from_pretrained("lenslab/gelu-2l", first_n_layers=value)
    assert "\n" not in str(info.value)


# ---- names, dtypes and keyword arguments that are wrong -------------------------------------


@pytest.mark.parametrize(
    "name, error, message",
    [
        (None, TypeError, "model_name must be a string .* got NoneType"),
        (123, TypeError, "model_name must be a string .* got int"),
        ("", ValueError, r"model_name is empty \(''\)"),
        ("   ", ValueError, r"model_name is empty \('   '\)"),
    ],
)
def test_model_names_that_are_not_names(name, error, message):
    from transformer_lens import HookedEncoder

    for load in (HookedTransformer.from_pretrained, HookedEncoder.from_pretrained):
        with pytest.raises(error, match=message) as info:
            load(name)
        assert "\n" not in str(info.value)


def test_a_path_object_names_a_checkpoint_directory(gpt2_checkpoint_dir):
    model = HookedTransformer.from_pretrained(gpt2_checkpoint_dir, device="cpu")
    assert model.cfg.n_layers == 8


def test_a_misspelt_official_name_gets_a_suggestion(gpt2_hub):
    with pytest.raises(OSError, match=r"Cannot find model 'gpt2-smal'.*; did you mean 'gpt2-small'") as info:
        HookedTransformer.from_pretrained("gpt2-smal")
    assert "\n" not in str(info.value)
    with pytest.raises(OSError, match=r"did you mean 'EleutherAI/pythia-70m'"):
        HookedTransformer.from_pretrained("EleutherAI/pythia-70n")
    # A name close to nothing gets no guess.
    with pytest.raises(OSError) as info:
        HookedTransformer.from_pretrained("someone/does-not-exist-anywhere")
    assert "did you mean" not in str(info.value)


@pytest.mark.parametrize("dtype", ["int8", torch.int64, "float8", "torch.bool"])
def test_unsupported_dtypes_list_the_supported_ones(dtype):
    with pytest.raises(ValueError, match=r"is not supported: the weights need a floating-point dtype, one of float32, float16, bfloat16, float64"):
        HookedTransformer.from_pretrained("lenslab/attn-only-2l", dtype=dtype)


def test_a_misspelt_flag_gets_the_flag_it_resembles(gpt2_checkpoint_dir):
    from transformer_lens import HookedEncoder

    with pytest.raises(TypeError) as info:
        HookedTransformer.from_pretrained("lenslab/attn-only-2l", fold_lnn=True)
    message = str(info.value)
    assert message == (
        "from_pretrained() got an unexpected keyword argument 'fold_lnn': it is not a HookedTransformerConfig field "
        "or an argument of from_pretrained; did you mean 'fold_ln'?"
    )
    with pytest.raises(TypeError, match=r"it is not a GPT2Config key, a HookedTransformerConfig field or an argument of from_pretrained; did you mean 'center_unembed'"):
        HookedTransformer.from_pretrained(str(gpt2_checkpoint_dir), center_unembedd=True)
    with pytest.raises(TypeError, match=r"it is not a GPT2Config key, .*; did you mean 'n_embd'"):
        HookedTransformer.from_pretrained(str(gpt2_checkpoint_dir), n_embed=32)


# ---- one pipeline for the three model classes ---------------------------------------------


def _t5_dir(directory):
    import transformers

    config = transformers.T5Config(
        vocab_size=64, d_model=16, d_kv=8, d_ff=32, num_layers=2, num_heads=2, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0
    )
    torch.manual_seed(0)
    hf_model = transformers.T5ForConditionalGeneration(config).eval()
    hf_model.save_pretrained(directory)
    return hf_model


def test_every_model_class_loads_through_the_one_streaming_pipeline(tmp_path, monkeypatch):
    """HookedTransformer, HookedEncoder and HookedEncoderDecoder: one chain, meta-built, streamed layer by layer."""
    import bert_checkpoints

    from transformer_lens import HookedEncoder
    from transformer_lens.hooked_encoder_decoder import HookedEncoderDecoder
    from transformer_lens.loading import pipeline, streaming
    from transformer_lens.loading.families import bert, t5

    calls, chunks = [], []
    real_load, real_stream = pipeline.load_pretrained, streaming.stream_into_model

    def spy_load(model_class, family, *args, **kwargs):
        calls.append((model_class, family))
        return real_load(model_class, family, *args, **kwargs)

    def spy_stream(model, source, cfg, **kwargs):
        assert all(p.device.type == "meta" for p in model.parameters())  # built without weights
        seen = list(source)
        chunks.append([index for index, _ in seen])
        return real_stream(model, iter(seen), cfg, **kwargs)

    monkeypatch.setattr(pipeline, "load_pretrained", spy_load)
    monkeypatch.setattr(streaming, "stream_into_model", spy_stream)
    bert_dir = bert_checkpoints.save_bert(bert_checkpoints.build_bert(seed=2, vocab_size=64, num_hidden_layers=2, num_attention_heads=2, hidden_size=16, intermediate_size=32), tmp_path / "bert")
    t5_hf = _t5_dir(tmp_path / "t5")
    encoder = HookedEncoder.from_pretrained(str(bert_dir), device="cpu")
    encoder_decoder = HookedEncoderDecoder.from_pretrained(str(tmp_path / "t5"), device="cpu")
    decoder = HookedTransformer.from_pretrained("lenslab/attn-only-2l", device="cpu")
    assert calls == [(HookedEncoder, bert), (HookedEncoderDecoder, t5), (HookedTransformer, None)]
    assert chunks == [[-1, 0, 1]] * 3  # global tensors, then each block
    for model in (encoder, encoder_decoder, decoder):
        assert not model.training and all(p.device.type == "cpu" for p in model.parameters())
    # Oracle: the Hugging Face T5 on the same weights.
    tokens = torch.tensor([[5, 6, 7, 1]])
    decoder_input = torch.tensor([[0, 9, 3]])
    with torch.no_grad():
        expected = t5_hf(input_ids=tokens, decoder_input_ids=decoder_input).logits
    torch.testing.assert_close(encoder_decoder(tokens, decoder_input), expected, atol=1e-5, rtol=1e-5)


def test_family_restricted_classes_refuse_other_architectures_in_one_line(gpt2_checkpoint_dir):
    from transformer_lens.hooked_encoder_decoder import HookedEncoderDecoder

    with pytest.raises(ValueError, match=r"^Architecture GPT2LMHeadModel is not supported by HookedEncoderDecoder; supported: T5ForConditionalGeneration"):
        HookedEncoderDecoder.from_pretrained(str(gpt2_checkpoint_dir), device="cpu")


def test_loading_options_every_class_shares():
    with pytest.raises(ValueError, match="Quantization .* not supported by HookedTransformer"):
        HookedTransformer.from_pretrained("lenslab/attn-only-2l", load_in_4bit=True)
    model = HookedTransformer.from_pretrained("lenslab/attn-only-2l", device="cpu", torch_dtype="float64")
    assert model.cfg.dtype == torch.float64 and model.W_E.dtype == torch.float64
