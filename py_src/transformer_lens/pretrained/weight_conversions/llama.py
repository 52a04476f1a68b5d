"""Upstream's ``convert_llama_weights``: LensLab's ``loading.families.llama`` converter."""

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

convert_llama_weights = family_converter("llama", "convert_llama_weights")
