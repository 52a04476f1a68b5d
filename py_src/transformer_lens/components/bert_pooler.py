"""Upstream's ``transformer_lens.components.bert_pooler`` module path (the class lives in ``components.bert``)."""

from transformer_lens.components.bert import BertPooler

__all__ = ["BertPooler"]
