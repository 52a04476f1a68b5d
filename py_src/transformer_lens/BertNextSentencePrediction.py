"""Upstream's ``transformer_lens.BertNextSentencePrediction`` module path (the class lives in ``bert_next_sentence_prediction``)."""

from transformer_lens.bert_next_sentence_prediction import BertNextSentencePrediction

__all__ = ["BertNextSentencePrediction"]
