"""Upstream's ``convert_gptj_weights``: LensLab's ``loading.families.gptj`` converter."""

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

convert_gptj_weights = family_converter("gptj", "convert_gptj_weights")
