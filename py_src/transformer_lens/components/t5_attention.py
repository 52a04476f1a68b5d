"""Upstream's ``transformer_lens.components.t5_attention``: ``T5Attention``, looked up in ``transformer_lens.components.t5`` (NotImplementedError without it)."""

from typing import Any

from transformer_lens._added_elsewhere import look_up

__all__ = ["T5Attention"]


def __getattr__(name: str) -> Any:
    if name == "T5Attention":
        return look_up(
            "transformer_lens.components.T5Attention", "transformer_lens.components.t5", name, "encoder-decoder (T5) models are not in this build"
        )  # fmt: skip
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
