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


# ---- bad arguments: one-line errors before any forward, nothing left behind ------------------


@pytest.fixture(scope="module")
def tiny():
    """The embedded attention-only model: learned positions with n_ctx=256."""
    return HookedTransformer.from_pretrained("lenslab/attn-only-2l", device="cpu")


def _forbid_forward(model, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("generate ran a forward pass before rejecting its arguments")

    monkeypatch.setattr(model, "forward", refuse)


def test_generation_past_n_ctx_is_refused_before_generating(tiny, monkeypatch):
    from hook_state import attached_hooks

    n_ctx = tiny.cfg.n_ctx
    prompt = torch.randint(1, tiny.cfg.d_vocab, (2, n_ctx - 6), generator=torch.Generator().manual_seed(0))
    # The last new token is never fed back: 6 + 1 new tokens fill exactly n_ctx positions.
    fits = 7
    with monkeypatch.context() as patch:
        _forbid_forward(tiny, patch)
        for use_cache in (True, False):
            with pytest.raises(ValueError, match=rf"reach {n_ctx + 1} positions .*n_ctx={n_ctx}: at most {fits} new tokens"):
                tiny.generate(prompt, max_new_tokens=fits + 1, use_past_kv_cache=use_cache, verbose=False)
    assert attached_hooks(tiny) == []
    # The longest generation that fits runs, and the KV cache agrees with full recomputation.
    kwargs = dict(max_new_tokens=fits, do_sample=False, stop_at_eos=False, verbose=False)
    cached = tiny.generate(prompt, use_past_kv_cache=True, **kwargs)
    recomputed = tiny.generate(prompt, use_past_kv_cache=False, **kwargs)
    assert cached.shape == (2, n_ctx + 1)
    assert torch.equal(cached, recomputed)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(max_new_tokens=-5), r"max_new_tokens must be an integer >= 0, got -5"),
        (dict(max_new_tokens=2.5), r"max_new_tokens must be an integer >= 0, got 2.5"),
        (dict(temperature=-1.0), r"temperature must be a finite number >= 0 .*got -1.0"),
        (dict(temperature=float("nan")), r"temperature must be .*got nan"),
        (dict(temperature=float("inf")), r"temperature must be .*got inf"),
        (dict(top_p=0.0), r"top_p must lie in \(0, 1\] .*got 0.0"),
        (dict(top_p=1.5), r"top_p must lie in \(0, 1\] .*got 1.5"),
        (dict(top_p=float("nan")), r"top_p must lie in \(0, 1\] .*got nan"),
        (dict(top_k=0), r"top_k must be a positive integer .*got 0"),
        (dict(top_k=-3), r"top_k must be a positive integer .*got -3"),
        (dict(top_k=2.5), r"top_k must be a positive integer .*got 2.5"),
        (dict(freq_penalty=float("nan")), r"freq_penalty must be a finite number, got nan"),
        (dict(repetition_penalty=0.0), r"repetition_penalty must be a finite number > 0 .*got 0.0"),
    ],
)
def test_bad_sampling_arguments_are_named(tiny, monkeypatch, kwargs, message):
    from hook_state import attached_hooks

    _forbid_forward(tiny, monkeypatch)
    with pytest.raises(ValueError, match=message) as info:
        tiny.generate("Once upon", verbose=False, **{"max_new_tokens": 3, **kwargs})
    assert "\n" not in str(info.value)
    assert attached_hooks(tiny) == []


def test_sample_logits_checks_its_arguments_too():
    from transformer_lens.generation import sample_logits

    logits = torch.randn(2, 10)
    with pytest.raises(ValueError, match="top_p must lie in"):
        sample_logits(logits, top_p=0.0)
    with pytest.raises(ValueError, match="temperature must be"):
        sample_logits(logits, temperature=-0.5)
    # The edges of the ranges are valid: top_p=1 keeps every token, so it samples all of them.
    generator = torch.Generator().manual_seed(0)
    uniform = torch.zeros(1, 4)
    seen = {int(sample_logits(uniform, top_p=1.0, generator=generator)) for _ in range(200)}
    assert seen == {0, 1, 2, 3}


def test_zero_new_tokens_returns_the_input(tiny):
    tokens = tiny.to_tokens("Once upon a time")
    assert torch.equal(tiny.generate(tokens, max_new_tokens=0, verbose=False), tokens)
    assert tiny.generate("Once upon a time", max_new_tokens=0, verbose=False) == "Once upon a time"


# ---- repetition penalty (Hugging Face's rule) ------------------------------------------------


def test_repetition_penalty_equals_hugging_faces_processor():
    from transformers.generation.logits_process import RepetitionPenaltyLogitsProcessor

    from transformer_lens.generation import apply_repetition_penalty
    from transformer_lens.utilities.logits_utils import _apply_repetition_penalty

    generator = torch.Generator().manual_seed(3)
    logits = torch.randn(3, 50, generator=generator)
    tokens = torch.randint(0, 50, (3, 12), generator=generator)
    for penalty in (0.7, 1.3, 4.0):
        expected = RepetitionPenaltyLogitsProcessor(penalty)(tokens, logits.clone())
        before = logits.clone()
        assert torch.allclose(apply_repetition_penalty(logits, tokens, penalty), expected)
        assert torch.equal(logits, before)  # a new tensor: the caller's logits are untouched
    assert _apply_repetition_penalty is apply_repetition_penalty


def test_repetition_penalty_steers_greedy_and_sampled_choices():
    from transformer_lens.errors import CheckFailed
    from transformer_lens.generation import sample_logits

    logits = torch.tensor([[0.0, 10.0, 9.0, 0.0]])
    seen = torch.tensor([[1, 1]])
    assert sample_logits(logits, temperature=0.0).tolist() == [1]
    assert sample_logits(logits, temperature=0.0, repetition_penalty=2.0, tokens=seen).tolist() == [2]
    generator = torch.Generator().manual_seed(0)
    picks = {int(sample_logits(logits * 5, repetition_penalty=100.0, tokens=seen, generator=generator)) for _ in range(50)}
    assert picks == {2}
    # A penalty needs the context it penalises: upstream asserts this, so the error is both kinds.
    with pytest.raises(CheckFailed, match="need the context tokens"):
        sample_logits(logits, freq_penalty=1.0)
    with pytest.raises(AssertionError):
        sample_logits(logits, repetition_penalty=1.5)
    with pytest.raises(AssertionError, match="top_k must be a positive integer"):
        sample_logits(logits, top_k=0)
    # top_k above the vocabulary keeps every token (Hugging Face clamps it too).
    assert sample_logits(logits, top_k=10, temperature=0.0).tolist() == [1]


def test_generate_with_repetition_penalty_never_repeats_a_dominant_token(tiny):
    prompt = tiny.to_tokens("Once upon a time")
    plain = tiny.generate(prompt, max_new_tokens=6, do_sample=False, stop_at_eos=False, verbose=False)
    penalised = tiny.generate(
        prompt, max_new_tokens=6, do_sample=False, stop_at_eos=False, verbose=False, repetition_penalty=1e6
    )
    assert torch.equal(penalised[:, : prompt.shape[1]], prompt)
    # With an overwhelming penalty every new greedy token is one not seen before in the row, as a
    # hand-rolled greedy loop over the uncached forward picks it.
    tokens = prompt
    for _ in range(6):
        final = tiny(tokens)[:, -1].clone()
        final[0, tokens[0].unique()] = float("-inf")
        tokens = torch.cat([tokens, final.argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(penalised, tokens)
    assert plain.shape == penalised.shape
