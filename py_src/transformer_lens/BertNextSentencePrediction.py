"""Upstream's ``transformer_lens.BertNextSentencePrediction`` module path.

The class lives in ``bert_next_sentence_prediction``; in a build without it the name raises
NotImplementedError (HookedEncoder covers BERT's masked-LM head).
"""

from typing import Any

from transformer_lens._added_elsewhere import look_up

__all__ = ["BertNextSentencePrediction"]


def __getattr__(name: str) -> Any:
    if name == "BertNextSentencePrediction":
        return look_up(
            "transformer_lens.BertNextSentencePrediction", "transformer_lens.bert_next_sentence_prediction", name,
            "BERT's next-sentence-prediction head is not in this build; HookedEncoder runs BERT with its masked-LM head",
        )  # fmt: skip
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
