"""Upstream's ``convert_opt_weights``: LensLab's ``loading.families.opt`` converter."""

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

convert_opt_weights = family_converter("opt", "convert_opt_weights")
