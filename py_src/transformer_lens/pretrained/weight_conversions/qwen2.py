"""Upstream's ``convert_qwen2_weights``: LensLab's ``loading.families.qwen2`` converter."""

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

convert_qwen2_weights = family_converter("qwen2", "convert_qwen2_weights")
