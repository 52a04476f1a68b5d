"""Upstream's ``transformer_lens.components.bert_block`` module path (the class lives in ``components.bert``)."""

from transformer_lens.components.bert import BertBlock

__all__ = ["BertBlock"]
