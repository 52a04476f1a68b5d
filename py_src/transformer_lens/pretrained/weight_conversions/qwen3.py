"""Upstream's ``convert_qwen3_weights``: LensLab's ``loading.families.qwen3`` converter."""

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

convert_qwen3_weights = family_converter("qwen3", "convert_qwen3_weights")
