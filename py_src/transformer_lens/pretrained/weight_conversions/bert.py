"""Upstream's ``convert_bert_weights``: LensLab's ``loading.families.bert`` converter."""

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

convert_bert_weights = family_converter("bert", "convert_bert_weights")
