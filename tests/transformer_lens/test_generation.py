"""generate(): greedy output equals Hugging Face's greedy generation; cache equals no cache."""

import pytest
import torch

from transformer_lens import HookedTransformer


@pytest.fixture(scope="module")
def model(gpt2_checkpoint_dir):
    return HookedTransformer.from_pretrained(str(gpt2_checkpoint_dir), device="cpu")


def test_greedy_generation_matches_hugging_face(model, gpt2_hf_model):
    tokens = model.to_tokens("The capital of France is")
    ours = model.generate(tokens, max_new_tokens=8, do_sample=False, stop_at_eos=False, verbose=False)
    theirs = gpt2_hf_model.generate(
        tokens, attention_mask=torch.ones_like(tokens), max_new_tokens=8, do_sample=False, pad_token_id=50256
    )
    assert ours.tolist() == theirs.tolist()


def test_kv_cache_gives_the_same_tokens_as_full_recompute(model):
    kwargs = dict(max_new_tokens=6, do_sample=False, stop_at_eos=False, verbose=False)
    prompts = ["Hello", "A much longer prompt than that"]
    with_cache = model.generate(prompts, use_past_kv_cache=True, return_type="tokens", **kwargs)
    without = model.generate(prompts, use_past_kv_cache=False, return_type="tokens", **kwargs)
    assert with_cache.tolist() == without.tolist()
    # A left-padded row continues exactly as it would alone.
    alone = model.generate("Hello", return_type="tokens", **kwargs)
    assert with_cache[0, -alone.shape[1]:].tolist() == alone[0].tolist()


def test_text_in_text_out_and_sampling_is_seeded(model):
    text = model.generate("Once upon", max_new_tokens=5, do_sample=False, verbose=False, stop_at_eos=False)
    assert isinstance(text, str) and text.startswith("Once upon") and len(text) > len("Once upon")
    torch.manual_seed(0)
    first = model.generate("Once upon", max_new_tokens=5, temperature=0.8, top_k=20, top_p=0.9, verbose=False)
    torch.manual_seed(0)
    second = model.generate("Once upon", max_new_tokens=5, temperature=0.8, top_k=20, top_p=0.9, verbose=False)
    assert first == second


def test_stops_at_eos(model):
    # Make EOS overwhelmingly likely by boosting its unembedding bias.
    eos = model.tokenizer.eos_token_id
    with torch.no_grad():
        model.unembed.b_U[eos] += 1000.0
    try:
        out = model.generate(model.to_tokens("Hi"), max_new_tokens=10, do_sample=False, verbose=False)
    finally:
        with torch.no_grad():
            model.unembed.b_U[eos] -= 1000.0
    assert out.shape[1] == model.to_tokens("Hi").shape[1] + 1 and out[0, -1].item() == eos


def test_top_k_one_is_greedy():
    from transformer_lens.generation import sample_logits

    logits = torch.randn(4, 50)
    assert torch.equal(sample_logits(logits, top_k=1), logits.argmax(-1))
    assert torch.equal(sample_logits(logits, top_p=1e-6), logits.argmax(-1))
    assert torch.equal(sample_logits(logits, temperature=0.0), logits.argmax(-1))
