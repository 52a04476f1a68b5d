"""Upstream's ``transformer_lens.HookedEncoderDecoder`` module path.

The class lives in ``hooked_encoder_decoder``; in a build without it the name raises NotImplementedError.
"""

from typing import Any

from transformer_lens._added_elsewhere import look_up

__all__ = ["HookedEncoderDecoder"]


def __getattr__(name: str) -> Any:
    if name == "HookedEncoderDecoder":
        return look_up(
            "transformer_lens.HookedEncoderDecoder", "transformer_lens.hooked_encoder_decoder", name,
            "encoder-decoder (T5) models are not in this build; use HookedTransformer or HookedEncoder",
        )  # fmt: skip
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
