"""Upstream's ``transformer_lens.BertNextSentencePrediction`` module path.

BERT with its next-sentence-prediction head is not implemented in LensLab yet: the name raises
NotImplementedError saying so (HookedEncoder covers the masked-LM head).
"""

from typing import Any

from transformer_lens._not_provided import not_provided

__all__: list[str] = []


def __getattr__(name: str) -> Any:
    if name == "BertNextSentencePrediction":
        raise not_provided(
            "transformer_lens.BertNextSentencePrediction",
            "BERT's next-sentence-prediction head is not implemented; HookedEncoder runs BERT with its masked-LM head",
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
