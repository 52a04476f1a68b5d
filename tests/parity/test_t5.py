"""HookedEncoderDecoder (T5) against Hugging Face's T5ForConditionalGeneration, on tiny random checkpoints.

Two shapes: original T5 (dense ReLU, tied and rescaled unembedding) and T5 v1.1 / Flan-T5
(gated GELU, separate unembedding). Eight relative-position buckets with max distance 16, so
sequences of 11 tokens reach the logarithmic buckets.
"""

from __future__ import annotations

import decoder_parity as dp
import pytest
import torch

_SIZES = dict(d_model=32, d_kv=8, d_ff=48, num_layers=2, num_heads=4, relative_attention_num_buckets=8, relative_attention_max_distance=16)
SHAPES = {
    "t5-relu-tied": dict(_SIZES),
    "t5-gated-gelu": dict(_SIZES, feed_forward_proj="gated-gelu", tie_word_embeddings=False),
}
DECODER_INPUT = torch.cat([torch.zeros(3, 1, dtype=torch.long), dp.TOKENS[:, 3:9]], dim=1)  # starts with decoder_start_token_id


@pytest.fixture(scope="module", params=sorted(SHAPES))
def checkpoint(request, tmp_path_factory):
    import transformers

    config = transformers.T5Config(vocab_size=dp.VOCAB, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0, **SHAPES[request.param])
    torch.manual_seed(0)
    hf_model = transformers.T5ForConditionalGeneration(config)
    dp.randomise_(hf_model, seed=len(request.param))
    directory = tmp_path_factory.mktemp(request.param)
    hf_model.save_pretrained(directory)
    reference = transformers.T5ForConditionalGeneration.from_pretrained(directory, attn_implementation="eager").eval()
    reference.generation_config.eos_token_id = None
    return request.param, directory, reference


@pytest.fixture(scope="module")
def model(checkpoint):
    from transformer_lens import HookedEncoderDecoder

    return HookedEncoderDecoder.from_pretrained(str(checkpoint[1]), device="cpu")


def _hf(reference, tokens, mask=None, decoder_input=DECODER_INPUT, **kwargs):
    with torch.no_grad():
        return reference(input_ids=tokens, attention_mask=mask, decoder_input_ids=decoder_input[: len(tokens)], **kwargs)


def test_log_probs_hidden_states_and_cross_attention_match_hugging_face(checkpoint, model):
    name, _, reference = checkpoint
    expected = _hf(reference, dp.TOKENS, output_hidden_states=True, output_attentions=True)
    with torch.no_grad():
        logits, cache = model.run_with_cache(dp.TOKENS, DECODER_INPUT)
    assert (logits.log_softmax(-1) - expected.logits.log_softmax(-1)).abs().max().item() < dp.ATOL, name
    # hook_normalized is before the norm's weight (3.x), so the encoder's output is that times w.
    encoder_out = cache["encoder_final_ln.hook_normalized"] * model.encoder_final_ln.w
    torch.testing.assert_close(encoder_out, expected.encoder_last_hidden_state, atol=1e-4, rtol=1e-4)
    for layer in range(model.cfg.n_layers):
        torch.testing.assert_close(cache[f"encoder.{layer}.hook_resid_pre"], expected.encoder_hidden_states[layer], atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(cache[f"decoder.{layer}.hook_resid_pre"], expected.decoder_hidden_states[layer], atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(cache[f"decoder.{layer}.cross_attn.hook_pattern"], expected.cross_attentions[layer], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(cache[f"decoder.{layer}.attn.hook_pattern"], expected.decoder_attentions[layer], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("padding_side", ["left", "right"])
def test_padded_encoder_batches_match_unpadded_rows(checkpoint, model, padding_side):
    name, _, reference = checkpoint
    tokens, mask, spans = dp.padded(padding_side)
    with torch.no_grad():
        batch = model(tokens, DECODER_INPUT, one_zero_attention_mask=mask).log_softmax(-1)
    for row, (span, length) in enumerate(zip(spans, dp.LENGTHS)):
        alone = _hf(reference, dp.TOKENS[row : row + 1, :length], decoder_input=DECODER_INPUT[row : row + 1]).logits.log_softmax(-1)
        assert (batch[row] - alone[0]).abs().max().item() < dp.ATOL, (name, row)


def test_greedy_generation_equals_hugging_face(checkpoint, model):
    _, _, reference = checkpoint
    kwargs = dict(max_new_tokens=6, do_sample=False, stop_at_eos=False, verbose=False)
    cached = model.generate(dp.TOKENS[:2], use_past_kv_cache=True, **kwargs)
    with torch.no_grad():
        expected = reference.generate(dp.TOKENS[:2], max_new_tokens=6, do_sample=False)
    assert torch.equal(cached, expected)
    assert torch.equal(model.generate(dp.TOKENS[:2], use_past_kv_cache=False, **kwargs), cached)


def test_bfloat16_smoke(checkpoint):
    from transformer_lens import HookedEncoderDecoder

    name, directory, reference = checkpoint
    model = HookedEncoderDecoder.from_pretrained(str(directory), device="cpu", dtype=torch.bfloat16)
    with torch.no_grad():
        log_probs = model(dp.TOKENS, DECODER_INPUT).float().log_softmax(-1)
    expected = _hf(reference, dp.TOKENS).logits
    assert torch.isfinite(log_probs).all()
    assert (log_probs.argmax(-1) == expected.argmax(-1)).float().mean().item() > 0.7, name


def test_sidebar_hook_tree_marks_exactly_the_hooks_that_never_fire(model):
    from lenslab.comm.handler import _hook_info

    infos = {name: _hook_info(name, model) for name in model.hook_dict}
    assert not [name for name, info in infos.items() if info.component == "other"]
    assert infos["decoder.1.cross_attn.hook_pattern"].layer == 1
    fired: set[str] = set()
    model.run_with_hooks(dp.TOKENS[:1], DECODER_INPUT[:1], fwd_hooks=[(lambda name: True, lambda act, hook: fired.add(hook.name))])
    assert {name for name, info in infos.items() if info.silent} == set(model.hook_dict) - fired


def test_patching_the_cross_attention_output_by_hand(model):
    """Hooks patch cross-attention like any other activation: a clean run's output restores clean logits."""
    clean, corrupted = dp.TOKENS[:1], dp.TOKENS[1:2]
    names = [f"decoder.{layer}.hook_cross_attn_out" for layer in range(model.cfg.n_layers)]
    with torch.no_grad():
        clean_logits, cache = model.run_with_cache(clean, DECODER_INPUT[:1], names_filter=lambda name: name in names)
        patched = model.run_with_hooks(
            corrupted, DECODER_INPUT[:1], fwd_hooks=[(name, lambda act, hook: cache[hook.name]) for name in names]
        )
        unpatched = model(corrupted, DECODER_INPUT[:1])
    # The decoder reads the encoder only through cross-attention.
    torch.testing.assert_close(patched, clean_logits, atol=1e-5, rtol=1e-5)
    assert (unpatched - clean_logits).abs().max() > 1e-3


def test_unsupported_depths_fail_in_one_line():
    import transformers

    from transformer_lens.loading.families import t5

    config = transformers.T5Config(vocab_size=dp.VOCAB, **dict(_SIZES, num_decoder_layers=3))
    with pytest.raises(ValueError, match="num_decoder_layers.*nearest") as error:
        t5.config_from_hf(config)
    assert "\n" not in str(error.value)


def test_hooked_transformer_points_t5_to_the_encoder_decoder(checkpoint):
    from transformer_lens import HookedTransformer

    with pytest.raises(ValueError, match="HookedEncoderDecoder.from_pretrained"):
        HookedTransformer.from_pretrained(str(checkpoint[1]), device="cpu")
