"""HookedEncoder: construction, hook names and shapes, tokenization, return types, hooks and
patching, weight properties, loading (names, BertModel, bad input). HF parity is in
tests/parity/test_bert.py."""

from __future__ import annotations

import json
import warnings

import bert_checkpoints
import pytest
import torch

from transformer_lens import HookedEncoder, HookedTransformer, HookedTransformerConfig, hook_names, patching
from transformer_lens.activation_cache import ActivationCache

SMALL = dict(vocab_size=97, num_hidden_layers=2, num_attention_heads=4, hidden_size=32, intermediate_size=64)


def random_cfg(**overrides) -> dict:
    cfg = dict(
        n_layers=2, d_model=32, n_ctx=16, d_head=8, d_vocab=50, act_fn="gelu",
        attention_dir="bidirectional", device="cpu", seed=0, original_architecture="BertForMaskedLM",
    )
    return {**cfg, **overrides}


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("bert-small")
    return bert_checkpoints.save_bert(bert_checkpoints.build_bert(seed=1, **SMALL), directory)


@pytest.fixture(scope="module")
def small(small_dir):
    return HookedEncoder.from_pretrained(str(small_dir), device="cpu")


@pytest.fixture(scope="module")
def with_tokenizer(tmp_path_factory):
    tokenizer = bert_checkpoints.bert_uncased_tokenizer()
    if tokenizer is None:
        pytest.skip(bert_checkpoints.MINILM_MISSING)
    directory = tmp_path_factory.mktemp("bert-tok")
    hf_model = bert_checkpoints.build_bert(seed=2, **{**SMALL, "vocab_size": 30522})
    bert_checkpoints.save_bert(hf_model, directory, tokenizer=tokenizer)
    return HookedEncoder.from_pretrained(str(directory), device="cpu")


def tokens_for(model, batch=2, pos=6, seed=0):
    return torch.randint(0, model.cfg.d_vocab, (batch, pos), generator=torch.Generator().manual_seed(seed))


# ---- construction, hook names, shapes --------------------------------------------------------


def test_construct_from_config_dict():
    model = HookedEncoder(random_cfg())
    assert isinstance(model.cfg, HookedTransformerConfig)
    logits = model(tokens_for(model))
    assert logits.shape == (2, 6, 50)
    assert torch.isfinite(logits).all()
    assert model.blocks[0].ln1.w.eq(1).all() and model.W_Q.std() > 0


def test_string_config_is_rejected():
    with pytest.raises(ValueError, match="from_pretrained"):
        HookedEncoder("bert-base-uncased")


def test_hook_names_follow_upstream(small):
    expected = {
        "hook_full_embed", "embed.hook_embed", "embed.hook_pos_embed", "embed.hook_token_type_embed",
        "embed.ln.hook_scale", "embed.ln.hook_normalized", "mlm_head.ln.hook_scale", "mlm_head.ln.hook_normalized",
    }
    per_block = {
        "hook_resid_pre", "hook_attn_out", "hook_resid_mid", "hook_mlp_in", "hook_mlp_out", "hook_resid_post",
        "hook_normalized_resid_post", "hook_q_input", "hook_k_input", "hook_v_input",
        "ln1.hook_scale", "ln1.hook_normalized", "ln2.hook_scale", "ln2.hook_normalized",
        "attn.hook_q", "attn.hook_k", "attn.hook_v", "attn.hook_z", "attn.hook_attn_scores", "attn.hook_pattern",
        "attn.hook_result", "mlp.hook_pre", "mlp.hook_post",
    }
    expected |= {f"blocks.{layer}.{name}" for layer in range(2) for name in per_block}
    assert expected <= set(small.hook_dict)


def test_every_cached_activation_matches_the_hook_table(small):
    tokens = tokens_for(small, batch=3, pos=5)
    _, cache = small.run_with_cache(tokens)
    assert isinstance(cache, ActivationCache)
    sizes = {"batch": 3, "pos": 5, "query_pos": 5, "key_pos": 5, "d_model": 32, "head_index": 4, "d_head": 8,
             "d_mlp": 64, "1": 1}
    for name, value in cache.items():
        spec = hook_names.spec_for(name)
        assert spec is not None, f"{name} is missing from hook_names"
        assert tuple(value.shape) == tuple(sizes[d] for d in spec.shape), name


def test_cache_shorthands(small):
    _, cache = small.run_with_cache(tokens_for(small))
    assert cache["normalized_resid_post", 1] is cache["blocks.1.hook_normalized_resid_post"]
    assert cache["pattern", -1] is cache["blocks.1.attn.hook_pattern"]
    _, sliced = small.run_with_cache(tokens_for(small), pos_slice=0, names_filter="embed.hook_token_type_embed")
    assert sliced["embed.hook_token_type_embed"].shape == (2, 1, 32)


def test_post_ln_block_semantics(small):
    # resid_mid is before ln1, resid_post before ln2; the block output is normalized_resid_post.
    _, cache = small.run_with_cache(tokens_for(small))
    block = small.blocks[0]
    with torch.no_grad():
        normalized_mid = block.ln1(cache["blocks.0.hook_resid_mid"])
        torch.testing.assert_close(cache["blocks.0.hook_resid_post"], normalized_mid + cache["blocks.0.hook_mlp_out"])
        torch.testing.assert_close(cache["blocks.0.hook_normalized_resid_post"], block.ln2(cache["blocks.0.hook_resid_post"]))
    torch.testing.assert_close(cache["blocks.1.hook_resid_pre"], cache["blocks.0.hook_normalized_resid_post"])


def test_token_types_change_the_output(small):
    tokens = tokens_for(small)
    with torch.no_grad():
        zeros = small(tokens, token_type_ids=torch.zeros_like(tokens))
        default = small(tokens)
        ones = small(tokens, token_type_ids=torch.ones_like(tokens))
    torch.testing.assert_close(zeros, default)
    assert not torch.allclose(zeros, ones)


def test_attention_mask_hides_padding(small):
    tokens = tokens_for(small, batch=1, pos=6)
    mask = torch.tensor([[1, 1, 1, 1, 0, 0]])
    with torch.no_grad():
        short = small(tokens[:, :4])
        padded = small(tokens, one_zero_attention_mask=mask)
        _, cache = small.run_with_cache(tokens, one_zero_attention_mask=mask)
    torch.testing.assert_close(padded[:, :4], short, atol=1e-5, rtol=0)
    assert cache["blocks.0.attn.hook_pattern"][..., 4:].abs().max() == 0


# ---- return types and input checks -----------------------------------------------------------


def test_return_type_none_and_bad_values(small):
    assert small(tokens_for(small), return_type=None) is None
    with pytest.raises(ValueError, match="return_type"):
        small(tokens_for(small), return_type="loss")


def test_encoder_output_and_layer_ranges(small):
    tokens = tokens_for(small)
    with torch.no_grad():
        final = small.encoder_output(tokens)
        _, cache = small.run_with_cache(tokens)
        middle = small(tokens, stop_at_layer=1)
        resumed = small(middle, start_at_layer=1)
    torch.testing.assert_close(final, cache["blocks.1.hook_normalized_resid_post"])
    torch.testing.assert_close(middle, cache["blocks.1.hook_resid_pre"])
    torch.testing.assert_close(resumed, small(tokens))


@pytest.mark.parametrize(
    "bad, error",
    [
        (torch.zeros(1, 4), TypeError),
        (torch.tensor([[0, 500]]), ValueError),
        (torch.zeros(1, 65, dtype=torch.long), ValueError),
        (3, TypeError),
    ],
)
def test_bad_token_input(small, bad, error):
    with pytest.raises(error):
        small(bad)


def test_mask_shape_is_checked(small):
    with pytest.raises(ValueError, match="one_zero_attention_mask"):
        small(tokens_for(small), one_zero_attention_mask=torch.ones(2, 3))


# ---- tokenizer ---------------------------------------------------------------------------------


def test_to_tokens_returns_tokens_types_and_mask(with_tokenizer):
    tokenizer = with_tokenizer.tokenizer
    tokens, token_types, mask = with_tokenizer.to_tokens(["Hello world", "A much longer second sentence here"])
    assert tokens.shape == token_types.shape == mask.shape
    assert (tokens[:, 0] == tokenizer.cls_token_id).all()
    assert tokens[0, int(mask[0].sum()) - 1] == tokenizer.sep_token_id
    assert mask[0].sum() < mask[1].sum() and (tokens[0][mask[0] == 0] == tokenizer.pad_token_id).all()
    assert (token_types == 0).all()
    assert tokenizer.convert_ids_to_tokens(tokens[0, 1:3].tolist()) == ["hello", "world"]


def test_text_input_uses_to_tokens(with_tokenizer):
    texts = ["Hello world", "A much longer second sentence here"]
    tokens, token_types, mask = with_tokenizer.to_tokens(texts)
    with torch.no_grad():
        torch.testing.assert_close(
            with_tokenizer(texts), with_tokenizer(tokens, token_type_ids=token_types, one_zero_attention_mask=mask)
        )


def test_predictions_return_type(with_tokenizer):
    one = with_tokenizer("The cat sat on the [MASK].", return_type="predictions")
    assert isinstance(one, str)
    two = with_tokenizer("The [MASK] sat on the [MASK].", return_type="predictions")
    assert isinstance(two, list) and len(two) == 2 and two[0].startswith("Prediction 0: ")


def test_to_tokens_without_tokenizer(small):
    with pytest.raises(ValueError, match="no tokenizer"):
        small.to_tokens("hello")


# ---- hooks and patching ------------------------------------------------------------------------


def test_hooks_edit_activations_and_are_removed(small):
    tokens = tokens_for(small)
    with torch.no_grad():
        clean = small(tokens)
        ablated = small.run_with_hooks(
            tokens, fwd_hooks=[("blocks.1.attn.hook_pattern", lambda pattern, hook: torch.zeros_like(pattern))]
        )
        again = small(tokens)
    assert not torch.allclose(clean, ablated)
    torch.testing.assert_close(again, clean)
    assert all(not hp.fwd_hooks for hp in small.hook_points())


def test_patching_clean_residual_restores_clean_logits(small):
    clean_tokens, corrupted_tokens = tokens_for(small, seed=1), tokens_for(small, seed=2)
    with torch.no_grad():
        clean_logits, clean_cache = small.run_with_cache(clean_tokens)

        def patch(resid, hook):
            return clean_cache[hook.name]

        patched = small.run_with_hooks(corrupted_tokens, fwd_hooks=[("blocks.1.hook_resid_pre", patch)])
    torch.testing.assert_close(patched, clean_logits)


def test_patching_module_works_on_the_encoder(small):
    clean_tokens, corrupted_tokens = tokens_for(small, pos=4, seed=1), tokens_for(small, pos=4, seed=2)
    with torch.no_grad():
        clean_logits, clean_cache = small.run_with_cache(clean_tokens)

    def metric(logits):
        return (logits - clean_logits).pow(2).mean()

    batched = patching.get_act_patch_resid_pre(small, corrupted_tokens, clean_cache, metric)
    sequential = patching.get_act_patch_resid_pre(small, corrupted_tokens, clean_cache, metric, sequential=True)
    assert batched.shape == (2, 4)
    torch.testing.assert_close(batched, sequential, atol=1e-5, rtol=0)


# ---- weights -------------------------------------------------------------------------------------


def test_weight_properties(small):
    block = small.blocks[1]
    assert small.W_Q.shape == small.W_K.shape == small.W_V.shape == (2, 4, 32, 8)
    assert small.W_O.shape == (2, 4, 8, 32)
    assert small.b_Q.shape == (2, 4, 8) and small.b_O.shape == (2, 32)
    assert small.W_in.shape == (2, 32, 64) and small.W_out.shape == (2, 64, 32)
    assert small.W_E.shape == (97, 32) and small.W_pos.shape == (64, 32) and small.W_token_type.shape == (2, 32)
    assert small.W_U.shape == (32, 97) and small.b_U.shape == (97,)
    assert small.W_E_pos.shape == (97 + 64, 32)
    assert small.QK.shape == (2, 4, 32, 32) and small.OV.shape == (2, 4, 32, 32)
    torch.testing.assert_close(small.W_Q[1], block.attn.W_Q)
    # BERT ties the decoder to the word embeddings.
    torch.testing.assert_close(small.W_U, small.W_E.T)
    assert small.all_head_labels()[:2] == ["L0H0", "L0H1"]


# ---- loading ---------------------------------------------------------------------------------------


def test_official_names_and_aliases(bert_hub):
    from transformer_lens.loading.families import bert

    assert bert.official_name("bert-base-uncased") == "google-bert/bert-base-uncased"
    assert bert.official_name("BERT-Large-Cased") == "google-bert/bert-large-cased"
    assert bert.official_name("gpt2") is None
    for name in ("bert-base-uncased", "google-bert/bert-base-uncased"):
        model = HookedEncoder.from_pretrained(name, device="cpu")
        assert model.cfg.model_name == "google-bert/bert-base-uncased"
        assert model.cfg.original_architecture == "BertForMaskedLM"
        assert model.tokenizer is not None and not model.training


def test_hooked_transformer_points_bert_ids_to_hooked_encoder(bert_hub, small_dir):
    for name in ("bert-base-uncased", str(small_dir)):
        with pytest.raises(ValueError, match="HookedEncoder"):
            HookedTransformer.from_pretrained(name, device="cpu")


def test_bert_model_checkpoint_loads_encoder_only(tmp_path):
    hf_model = bert_checkpoints.build_bert(seed=3, architecture="BertModel", **SMALL)
    bert_checkpoints.save_bert(hf_model, tmp_path)
    with pytest.warns(UserWarning, match="no MLM head"):
        model = HookedEncoder.from_pretrained(str(tmp_path), device="cpu")
    assert model.cfg.original_architecture == "BertModel"
    assert not model.has_mlm_head and not hasattr(model, "mlm_head")
    tokens = tokens_for(model)
    with torch.no_grad():
        assert model(tokens, return_type=None) is None
        _, cache = model.run_with_cache(tokens, return_type=None)
        torch.testing.assert_close(model.encoder_output(tokens), hf_model(tokens).last_hidden_state, atol=1e-4, rtol=0)
    assert "blocks.1.hook_normalized_resid_post" in cache
    with pytest.raises(ValueError, match="no MLM head.*return_type=None"):
        model(tokens)
    with pytest.raises(ValueError, match="no MLM head"):
        model.W_U


def test_unsupported_architecture_names_it_and_the_supported_list(gpt2_checkpoint_dir):
    with pytest.raises(ValueError, match=r"GPT2LMHeadModel is not supported by HookedEncoder.*BertForMaskedLM"):
        HookedEncoder.from_pretrained(str(gpt2_checkpoint_dir), device="cpu")


def test_weights_that_do_not_match_the_config(tmp_path):
    bert_checkpoints.save_bert(bert_checkpoints.build_bert(seed=4, **SMALL), tmp_path)
    config_path = tmp_path / "config.json"
    config = json.loads(config_path.read_text())
    config["intermediate_size"] = 48
    config_path.write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"blocks\.0\.mlp\.W_in has shape \(32, 64\) but the config implies \(32, 48\)"):
        HookedEncoder.from_pretrained(str(tmp_path), device="cpu")


def test_missing_model_and_bad_kwargs(small_dir):
    with pytest.raises(OSError, match="Cannot find model"):
        HookedEncoder.from_pretrained("nobody/no-such-bert", device="cpu")
    with pytest.raises(TypeError, match="not_a_key"):
        HookedEncoder.from_pretrained(str(small_dir), device="cpu", not_a_key=1)
    with pytest.raises(ValueError, match="Quantization"):
        HookedEncoder.from_pretrained(str(small_dir), device="cpu", load_in_8bit=True)
    with pytest.raises(ValueError, match="checkpoint"):
        HookedEncoder.from_pretrained(str(small_dir), checkpoint_index=1)


def test_overrides_reach_the_config(small_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = HookedEncoder.from_pretrained(str(small_dir), device="cpu", hidden_act="relu", use_attn_result=True)
    assert model.cfg.act_fn == "relu" and model.cfg.use_attn_result
    _, cache = model.run_with_cache(tokens_for(model), names_filter="blocks.0.attn.hook_result")
    assert cache["blocks.0.attn.hook_result"].shape == (2, 6, 4, 32)


def test_dtype_and_device_bookkeeping(small_dir):
    model = HookedEncoder.from_pretrained(str(small_dir), device="cpu", dtype="bfloat16")
    assert model.cfg.dtype == torch.bfloat16 and model.W_E.dtype == torch.bfloat16
    model.to(torch.float32)
    assert model.cfg.dtype == torch.float32
    assert model.cpu().cfg.device == "cpu"


def test_empty_and_narrow_integer_token_tensors(small):
    encoder = small
    with pytest.raises(ValueError, match=r"tokens of shape \(1, 0\) have no positions"):
        encoder(torch.zeros(1, 0, dtype=torch.long))
    with pytest.raises(ValueError, match=r"tokens of shape \(0, 3\) hold no prompts"):
        encoder(torch.zeros(0, 3, dtype=torch.long))
    tokens = torch.tensor([[1, 7, 20], [2, 3, 40]])
    reference = encoder(tokens)
    for dtype in (torch.int32, torch.int16, torch.uint8):
        torch.testing.assert_close(encoder(tokens.to(dtype)), reference, rtol=0, atol=0)
