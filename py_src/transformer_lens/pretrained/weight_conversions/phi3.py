"""Upstream's ``convert_phi3_weights``: LensLab's ``loading.families.phi3`` converter."""

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

convert_phi3_weights = family_converter("phi3", "convert_phi3_weights")
