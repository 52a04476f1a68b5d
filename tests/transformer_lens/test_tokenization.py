"""Tokenizer helpers against GPT-2's real tokenizer."""

import pytest
import torch

from transformer_lens import HookedTransformer


@pytest.fixture(scope="module")
def model(gpt2_checkpoint_dir):
    return HookedTransformer.from_pretrained(str(gpt2_checkpoint_dir), device="cpu")


def test_to_tokens_prepends_bos_and_matches_the_tokenizer(model, gpt2_tokenizer):
    text = "The quick brown fox"
    tokens = model.to_tokens(text)
    assert tokens[0, 0].item() == gpt2_tokenizer.bos_token_id == 50256
    assert tokens[0, 1:].tolist() == gpt2_tokenizer.encode(text)
    assert model.to_tokens(text, prepend_bos=False)[0].tolist() == gpt2_tokenizer.encode(text)


def test_batches_pad_on_the_requested_side(model):
    right = model.to_tokens(["a", "a b c"])
    left = model.to_tokens(["a", "a b c"], padding_side="left")
    pad = model.tokenizer.pad_token_id
    assert right.shape == left.shape == (2, 4)
    assert right[0, -1].item() == pad and left[0, 0].item() == pad
    assert right[0, :2].tolist() == left[0, 2:].tolist()


def test_to_batch_is_to_tokens_on_a_list(model):
    prompts = ["Sentence 1.", "Another, longer sentence here."]
    batch = model.to_batch(prompts)
    assert torch.equal(batch, model.to_tokens(prompts))
    assert torch.equal(model.to_batch(tuple(prompts), padding_side="left"), model.to_tokens(prompts, padding_side="left"))
    assert torch.equal(model.to_batch("One prompt"), model.to_tokens("One prompt"))
    with pytest.raises(ValueError, match="at least one prompt"):
        model.to_batch([])


def test_string_tokens_and_round_trip(model):
    assert model.to_str_tokens("Hello world") == ["<|endoftext|>", "Hello", " world"]
    assert model.to_str_tokens(["a b", "c"], prepend_bos=False) == [["a", " b"], ["c"]]
    tokens = model.to_tokens("Round trip text.", prepend_bos=False)
    assert model.to_string(tokens[0]) == "Round trip text."
    assert model.to_string(tokens) == ["Round trip text."]
    assert model.to_single_str_token(model.to_single_token(" Paris")) == " Paris"


def test_to_single_token_rejects_multi_token_strings(model):
    assert model.to_single_token(" Paris") == 6342
    with pytest.raises(ValueError, match="not a single token"):
        model.to_single_token(" Eiffel Tower")


def test_get_token_position_first_and_last(model):
    text = "cat dog cat"
    assert model.get_token_position(" cat", text) == 3
    assert model.get_token_position("cat", text) == 1
    assert model.get_token_position(" dog", text, prepend_bos=False) == 1
    with pytest.raises(ValueError, match="does not occur"):
        model.get_token_position(" Paris", text)


def test_tokens_to_residual_directions_are_unembedding_columns(model):
    paris = model.to_single_token(" Paris")
    torch.testing.assert_close(model.tokens_to_residual_directions(" Paris"), model.W_U[:, paris])
    many = model.tokens_to_residual_directions(torch.tensor([[paris, 1]]))
    assert many.shape == (1, 2, model.cfg.d_model)
    torch.testing.assert_close(many[0, 1], model.W_U[:, 1])


def test_string_batches_in_forward_mask_padding(model):
    prompts = ["Hello", "Hello there my friend"]
    batch_logits = model(prompts, padding_side="left")
    for row, prompt in enumerate(prompts):
        alone = model(prompt)
        torch.testing.assert_close(batch_logits[row, -alone.shape[1]:], alone[0], atol=1e-4, rtol=1e-4)
    loss_batch = model(prompts, return_type="loss", loss_per_token=True)
    alone_loss = model(prompts[0], return_type="loss", loss_per_token=True)
    torch.testing.assert_close(loss_batch[0, : alone_loss.shape[1]], alone_loss[0], atol=1e-4, rtol=1e-4)
    assert torch.all(loss_batch[0, alone_loss.shape[1]:] == 0)


def test_bad_token_inputs_give_one_line_reasons(model):
    with pytest.raises(TypeError, match="integer tensor"):
        model(torch.zeros(1, 3))
    with pytest.raises(ValueError, match=r"\[batch, pos\]"):
        model(torch.zeros(1, 2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="token ids must lie in"):
        model(torch.tensor([[0, 60000]]))
    with pytest.raises(TypeError, match="string or a list of strings"):
        model([1, 2, 3])


# ---- bad input: one-line errors that name the problem ------------------------------------


@pytest.mark.parametrize(
    "value, error, message",
    [
        (123, TypeError, "text input must be a string or a list of strings, got int"),
        (None, TypeError, "got NoneType"),
        (b"bytes", TypeError, "got bytes"),
        (["ok", 5], TypeError, "item 1 is int"),
        ([], ValueError, "empty list: pass at least one prompt"),
        ("a\ud800b", ValueError, r"cannot tokenize character '\\ud800' at index 1: a lone surrogate"),
        (["fine", "\udfff"], ValueError, "at index 0 of string 1"),
    ],
)
def test_to_tokens_names_bad_input(model, value, error, message):
    from hook_state import attached_hooks

    with pytest.raises(error, match=message) as info:
        model.to_tokens(value)
    assert "\n" not in str(info.value)
    # A forward pass fails the same way (for non-text input its message also offers token tensors).
    text_like = isinstance(value, (str, list))
    with pytest.raises(error, match=message if text_like else f"got {type(value).__name__}") as info:
        model(value)
    assert "\n" not in str(info.value)
    assert attached_hooks(model) == []


def test_empty_and_unusual_strings_tokenize(model, gpt2_tokenizer):
    assert model.to_tokens("", prepend_bos=False).shape == (1, 0)
    assert model.to_tokens("").tolist() == [[gpt2_tokenizer.bos_token_id]]
    text = "tab\tNUL\x00emoji \U0001F600"
    assert model.to_tokens(text, prepend_bos=False)[0].tolist() == gpt2_tokenizer.encode(text)


# ---- property: arbitrary strings tokenize to valid ids or fail with a named ValueError -------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
_ANY_TEXT = st.one_of(
    st.text(max_size=40),  # any valid Unicode (hypothesis leaves surrogates out of st.text)
    st.text(alphabet=st.one_of(st.characters(), _SURROGATES), max_size=20),
    st.builds(lambda piece, copies: piece * copies, st.text(min_size=1, max_size=8), st.integers(50, 400)),  # long
)


@pytest.fixture(scope="module")
def embedded():
    return HookedTransformer.from_pretrained("lenslab/attn-only-2l", device="cpu")


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_ANY_TEXT)
def test_any_string_gives_valid_ids_or_a_named_error(embedded, text):
    has_surrogate = any(0xD800 <= ord(c) <= 0xDFFF for c in text)
    if has_surrogate:
        with pytest.raises(ValueError, match="lone surrogate") as info:
            embedded.to_tokens(text)
        assert "\n" not in str(info.value)
        return
    cfg = embedded.cfg
    full = embedded.to_tokens(text, prepend_bos=False, truncate=False)
    tokens = embedded.to_tokens(text)
    assert tokens.dtype == torch.long and tokens.ndim == 2 and tokens.shape[0] == 1
    assert 1 <= tokens.shape[1] <= cfg.n_ctx
    assert int(tokens.min()) >= 0 and int(tokens.max()) < cfg.d_vocab
    assert tokens[0, 0].item() == embedded.tokenizer.bos_token_id
    # Byte-level BPE loses nothing: the untruncated ids decode to the text itself, and the
    # default (BOS, truncated to n_ctx) is their prefix.
    assert embedded.to_string(full[0]) == text
    assert tokens[0, 1:].tolist() == full[0, : cfg.n_ctx - 1].tolist()


@settings(max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.text(max_size=30), min_size=1, max_size=3), side=st.sampled_from(["left", "right"]))
def test_a_batch_of_strings_is_each_string_padded(embedded, texts, side):
    batch = embedded.to_tokens(texts, padding_side=side)
    pad = embedded.tokenizer.pad_token_id
    for row, text in zip(batch, texts):
        alone = embedded.to_tokens(text)[0]
        padding = torch.full((batch.shape[1] - len(alone),), pad, dtype=torch.long)
        expected = torch.cat([padding, alone] if side == "left" else [alone, padding])
        assert row.tolist() == expected.tolist()
