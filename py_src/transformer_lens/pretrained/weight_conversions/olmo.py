"""Upstream's ``convert_olmo_weights``: LensLab's ``loading.families.olmo`` converter."""

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

convert_olmo_weights = family_converter("olmo", "convert_olmo_weights")
