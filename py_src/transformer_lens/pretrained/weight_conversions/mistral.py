"""Upstream's ``convert_mistral_weights``: LensLab's ``loading.families.mistral`` converter."""

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

convert_mistral_weights = family_converter("mistral", "convert_mistral_weights")
