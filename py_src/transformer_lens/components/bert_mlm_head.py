"""Upstream's ``transformer_lens.components.bert_mlm_head`` module path (the class lives in ``components.bert``)."""

from transformer_lens.components.bert import BertMLMHead

__all__ = ["BertMLMHead"]
