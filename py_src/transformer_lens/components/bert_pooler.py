"""Upstream's ``transformer_lens.components.bert_pooler``: ``BertPooler``, looked up in ``transformer_lens.components.bert`` (NotImplementedError without it)."""

from typing import Any

from transformer_lens._added_elsewhere import look_up

__all__ = ["BertPooler"]


def __getattr__(name: str) -> Any:
    if name == "BertPooler":
        return look_up(
            "transformer_lens.components.BertPooler", "transformer_lens.components.bert", name, "BERT's pooler is not in this build"
        )  # fmt: skip
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
