"""Upstream's ``convert_mingpt_weights``: LensLab's TransformerLens-format loader (``loading.tl_format``)."""

from transformer_lens.pretrained.weight_conversions._adapter import tl_format_converter

convert_mingpt_weights = tl_format_converter("mingpt", "convert_mingpt_weights")
