"""Upstream's ``transformer_lens.components.token_typed_embed`` module path (the class lives in ``components.bert``)."""

from transformer_lens.components.bert import TokenTypeEmbed

__all__ = ["TokenTypeEmbed"]
