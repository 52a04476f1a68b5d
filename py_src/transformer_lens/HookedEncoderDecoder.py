"""Upstream's ``transformer_lens.HookedEncoderDecoder`` module path (the class lives in ``hooked_encoder_decoder``)."""

from transformer_lens.hooked_encoder_decoder import HookedEncoderDecoder

__all__ = ["HookedEncoderDecoder"]
