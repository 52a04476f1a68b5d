"""Upstream's ``convert_t5_weights``: LensLab's ``loading.families.t5`` converter."""

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

convert_t5_weights = family_converter("t5", "convert_t5_weights")
