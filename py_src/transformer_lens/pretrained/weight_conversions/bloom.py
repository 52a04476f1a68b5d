"""Upstream's ``convert_bloom_weights``: LensLab's ``loading.families.bloom`` converter."""

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

convert_bloom_weights = family_converter("bloom", "convert_bloom_weights")
