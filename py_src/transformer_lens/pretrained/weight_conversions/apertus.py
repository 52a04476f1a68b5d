"""Upstream's ``convert_apertus_weights``: LensLab's ``loading.families.apertus`` converter."""

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

convert_apertus_weights = family_converter("apertus", "convert_apertus_weights", kv_whenever_set=True)
