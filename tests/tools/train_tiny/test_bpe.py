"""The embedded models' tokenizer trainer."""

from __future__ import annotations

from transformers import PreTrainedTokenizerFast

from tools.train_tiny import bpe

TEXTS = ["def add(a, b):\n    return a + b\n", "class Point:\n    x: int = 0\n    y: int = 0\n"] * 30


def test_training_is_deterministic_with_endoftext_first():
    first, second = bpe.train_bpe(TEXTS, vocab_size=320), bpe.train_bpe(TEXTS, vocab_size=320)
    assert first.get_vocab() == second.get_vocab()
    assert first.token_to_id(bpe.ENDOFTEXT) == 0
    assert 256 < first.get_vocab_size() <= 320


def test_saved_file_loads_in_transformers_and_round_trips_any_text(tmp_path):
    path = tmp_path / "tokenizer.json"
    bpe.save_tokenizer(bpe.train_bpe(TEXTS, vocab_size=320), path)
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(path), bos_token=bpe.ENDOFTEXT)
    text = "def  naïve(x):\n\treturn '日本' + x  # never seen in training\n"
    ids = tokenizer(text)["input_ids"]
    assert tokenizer.decode(ids) == text
    # Learned merges make training-like text shorter than its bytes.
    assert len(tokenizer("class Point:\n")["input_ids"]) < len("class Point:\n".encode())
