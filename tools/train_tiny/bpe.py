"""Byte-level BPE tokenizer for the embedded models, trained with `tokenizers`.

The saved ``tokenizer.json`` is a standard Hugging Face fast-tokenizer file:
``transformers.PreTrainedTokenizerFast(tokenizer_file=...)`` loads it, with
``<|endoftext|>`` (id 0) as BOS, EOS and PAD, as in GPT-2.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

ENDOFTEXT = "<|endoftext|>"
VOCAB_SIZE = 4096


def train_bpe(texts: Iterable[str], vocab_size: int = VOCAB_SIZE) -> Tokenizer:
    """Train a GPT-2 style byte-level BPE on ``texts``.

    Args:
        texts: documents, in a fixed order (training is deterministic given it).
        vocab_size: final size including the 256 byte symbols and ``ENDOFTEXT``.

    Returns:
        The trained tokenizer; ``ENDOFTEXT`` has id 0.
    """
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    # trim_offsets=False keeps offsets of whitespace-led tokens exact.
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[ENDOFTEXT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


def save_tokenizer(tokenizer: Tokenizer, path: Path) -> None:
    """Write ``tokenizer.json`` compactly (no indentation, to save wheel bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(path), pretty=False)
