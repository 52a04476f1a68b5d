"""Upstream's ``convert_phi_weights``: LensLab's ``loading.families.phi`` converter."""

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

convert_phi_weights = family_converter("phi", "convert_phi_weights")
