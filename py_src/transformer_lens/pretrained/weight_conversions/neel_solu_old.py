"""Upstream's ``convert_neel_solu_old_weights``: LensLab's TransformerLens-format loader (``loading.tl_format``)."""

from transformer_lens.pretrained.weight_conversions._adapter import tl_format_converter

convert_neel_solu_old_weights = tl_format_converter("neel-solu-old", "convert_neel_solu_old_weights")
