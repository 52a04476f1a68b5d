"""Upstream's ``convert_neo_weights``: LensLab's ``loading.families.neo`` converter."""

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

convert_neo_weights = family_converter("neo", "convert_neo_weights")
