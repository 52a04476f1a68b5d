"""Upstream's ``transformer_lens.components.bert_embed`` module path (the class lives in ``components.bert``)."""

from transformer_lens.components.bert import BertEmbed

__all__ = ["BertEmbed"]
