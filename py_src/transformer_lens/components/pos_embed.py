"""Upstream's ``transformer_lens.components.pos_embed`` module path (the class lives in ``components.embed``)."""

from transformer_lens.components.embed import PosEmbed

__all__ = ["PosEmbed"]
