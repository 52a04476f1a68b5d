"""Padded batches with the KV cache: cached logits equal the uncached forward, and generation
continues each padded row exactly as that prompt alone.

Oracles: the uncached forward of the whole padded batch with its attention mask, and each
prompt run (or generated) alone, with no padding at all.
"""

import pytest
import torch

from transformer_lens import HookedTransformer, HookedTransformerConfig
from transformer_lens.kv_cache import HookedTransformerKeyValueCache

PREFIXES = ["It's always locked", "I'd rather be burned in Canada"]
SUFFIXES = [" by the magistrate", " than to freeze here in the South"]
GREEDY = dict(max_new_tokens=5, do_sample=False, stop_at_eos=False, verbose=False)


@pytest.fixture(scope="module")
def absolute():
    return HookedTransformer.from_pretrained("lenslab/gelu-2l", device="cpu")


@pytest.fixture(scope="module")
def rotary(absolute):
    cfg = HookedTransformerConfig(
        n_layers=2, d_model=32, n_ctx=64, d_head=8, n_heads=4, d_vocab=absolute.cfg.d_vocab, act_fn="gelu",
        positional_embedding_type="rotary", normalization_type="LN", seed=1,
    )
    return HookedTransformer(cfg, tokenizer=absolute.tokenizer)


@pytest.fixture(params=["absolute", "rotary"])
def model(request):
    model = request.getfixturevalue(request.param)
    model.tokenizer.padding_side = "right"
    yield model
    model.tokenizer.padding_side = "right"


def padded(model, texts, side, prepend_bos):
    tokens = model.to_tokens(texts, padding_side=side, prepend_bos=prepend_bos)
    return tokens, model._tokenize(texts, prepend_bos, side)[1]


@pytest.mark.parametrize("prefix_side", ["left", "right"])
@pytest.mark.parametrize("suffix_side", ["left", "right"])
def test_cached_continuation_equals_the_uncached_padded_forward(model, prefix_side, suffix_side):
    prefix, prefix_mask = padded(model, PREFIXES, prefix_side, True)
    suffix, suffix_mask = padded(model, SUFFIXES, suffix_side, False)
    # Token ids only: the model must find the padding itself, as upstream does.
    cache = HookedTransformerKeyValueCache.init_cache(model.cfg, "cpu", len(PREFIXES))
    model(prefix, past_kv_cache=cache, padding_side=prefix_side)
    cached = model(suffix, past_kv_cache=cache, padding_side=suffix_side, prepend_bos=False)

    full_mask = torch.cat([prefix_mask, suffix_mask], dim=1)
    uncached = model(torch.cat([prefix, suffix], dim=1), attention_mask=full_mask)[:, prefix.shape[1]:]
    real = suffix_mask.bool()
    torch.testing.assert_close(cached[real], uncached[real], atol=1e-4, rtol=1e-4)

    for row, (before, after) in enumerate(zip(PREFIXES, SUFFIXES)):
        alone_suffix = model.to_tokens(after, prepend_bos=False)
        alone = model(torch.cat([model.to_tokens(before), alone_suffix], dim=1))[0, -alone_suffix.shape[1]:]
        torch.testing.assert_close(cached[row][real[row]], alone, atol=1e-4, rtol=1e-4)


def test_a_frozen_cache_keeps_its_keys_and_mask(model):
    prefix, _ = padded(model, PREFIXES, "left", True)
    suffix, _ = padded(model, SUFFIXES, "right", False)
    cache = HookedTransformerKeyValueCache.init_cache(model.cfg, "cpu", len(PREFIXES))
    model(prefix, past_kv_cache=cache, padding_side="left")
    cache.freeze()
    first = model(suffix, past_kv_cache=cache, padding_side="right", prepend_bos=False)
    second = model(suffix, past_kv_cache=cache, padding_side="right", prepend_bos=False)
    assert cache.previous_attention_mask.shape == prefix.shape
    torch.testing.assert_close(first, second)


@pytest.mark.parametrize("side", ["left", "right"])
def test_generation_from_padded_tokens_is_the_same_with_and_without_the_cache(model, side):
    model.tokenizer.padding_side = side
    tokens = model.to_tokens(PREFIXES)
    with_cache = model.generate(tokens, use_past_kv_cache=True, **GREEDY)
    without = model.generate(tokens, use_past_kv_cache=False, **GREEDY)
    assert with_cache.tolist() == without.tolist()
    if side == "left":
        for row, text in enumerate(PREFIXES):
            alone = model.generate(model.to_tokens(text), **GREEDY)
            assert with_cache[row, -alone.shape[1]:].tolist() == alone[0].tolist()


def test_generation_logits_with_the_cache_equal_the_uncached_forward(model):
    """Every step's logits (seen by a hook on the unembedding) match one uncached forward."""
    model.tokenizer.padding_side = "left"
    tokens = model.to_tokens(PREFIXES)
    steps = []
    handle = model.unembed.register_forward_hook(lambda module, args, out: steps.append(out[:, -1].clone()))
    try:
        generated = model.generate(tokens, use_past_kv_cache=True, **GREEDY)
    finally:
        handle.remove()
    prompt_mask = model._tokenize(PREFIXES, True, "left")[1]
    new = generated.shape[1] - tokens.shape[1]
    with torch.no_grad():  # generate's output is an inference-mode tensor
        full = model(generated, attention_mask=torch.cat([prompt_mask, torch.ones(len(PREFIXES), new, dtype=torch.long)], 1))
    assert len(steps) == GREEDY["max_new_tokens"]
    for step, logits in enumerate(steps):
        position = tokens.shape[1] - 1 + step
        torch.testing.assert_close(logits, full[:, position], atol=1e-4, rtol=1e-4)


def test_to_tokens_follows_the_tokenizers_padding_side(absolute):
    short, long = absolute.to_tokens(PREFIXES[0]), absolute.to_tokens(PREFIXES[1])
    pad = absolute.tokenizer.pad_token_id
    try:
        absolute.tokenizer.padding_side = "left"
        batch = absolute.to_tokens(PREFIXES)
        assert batch[0, -short.shape[1]:].tolist() == short[0].tolist()
        assert (batch[0, : long.shape[1] - short.shape[1]] == pad).all()
        # The argument still wins over the tokenizer's setting.
        right = absolute.to_tokens(PREFIXES, padding_side="right")
        assert right[0, : short.shape[1]].tolist() == short[0].tolist()
        absolute.tokenizer.padding_side = "right"
        assert absolute.to_tokens(PREFIXES)[0, : short.shape[1]].tolist() == short[0].tolist()
    finally:
        absolute.tokenizer.padding_side = "right"
