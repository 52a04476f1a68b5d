"""Upstream's ``convert_qwen_weights``: LensLab's ``loading.families.qwen`` converter."""

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

convert_qwen_weights = family_converter("qwen", "convert_qwen_weights")
