"""Upstream's ``convert_olmo3_weights``: LensLab's ``loading.families.olmo3`` converter."""

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

convert_olmo3_weights = family_converter("olmo3", "convert_olmo3_weights")
