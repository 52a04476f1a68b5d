"""Upstream's ``convert_olmoe_weights``: LensLab's ``loading.families.olmoe`` converter."""

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

convert_olmoe_weights = family_converter("olmoe", "convert_olmoe_weights")
