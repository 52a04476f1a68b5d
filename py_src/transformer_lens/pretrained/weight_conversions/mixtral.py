"""Upstream's ``convert_mixtral_weights``: LensLab's ``loading.families.mixtral`` converter."""

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

convert_mixtral_weights = family_converter("mixtral", "convert_mixtral_weights")
