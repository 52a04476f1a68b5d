"""Upstream's ``convert_coder_weights``: LensLab's ``loading.families.santacoder`` converter."""

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

convert_coder_weights = family_converter("santacoder", "convert_coder_weights")
