"""Upstream's ``convert_gpt2_weights``: LensLab's ``loading.families.gpt2`` converter."""

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

convert_gpt2_weights = family_converter("gpt2", "convert_gpt2_weights")
