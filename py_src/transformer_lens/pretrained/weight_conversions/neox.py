"""Upstream's ``convert_neox_weights``: LensLab's ``loading.families.neox`` converter."""

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

convert_neox_weights = family_converter("neox", "convert_neox_weights")
