"""Upstream's ``convert_olmo2_weights``: LensLab's ``loading.families.olmo2`` converter."""

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

convert_olmo2_weights = family_converter("olmo2", "convert_olmo2_weights")
