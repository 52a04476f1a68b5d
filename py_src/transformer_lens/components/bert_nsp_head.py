"""Upstream's ``transformer_lens.components.bert_nsp_head`` module path (the class lives in ``components.bert``)."""

from transformer_lens.components.bert import BertNSPHead

__all__ = ["BertNSPHead"]
