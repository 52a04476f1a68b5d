"""Upstream's ``transformer_lens.components.bert_nsp_head``: ``BertNSPHead``, looked up in ``transformer_lens.components.bert`` (NotImplementedError without it)."""

from typing import Any

from transformer_lens._added_elsewhere import look_up

__all__ = ["BertNSPHead"]


def __getattr__(name: str) -> Any:
    if name == "BertNSPHead":
        return look_up(
            "transformer_lens.components.BertNSPHead", "transformer_lens.components.bert", name, "BERT's next-sentence-prediction head is not in this build"
        )  # fmt: skip
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
