"""Upstream's ``transformer_lens.components.unembed`` module path (the class lives in ``components.embed``)."""

from transformer_lens.components.embed import Unembed

__all__ = ["Unembed"]
