"""Upstream's ``convert_nanogpt_weights``: not provided (LensLab has no nanoGPT loader)."""

from transformer_lens.pretrained.weight_conversions._adapter import not_provided

convert_nanogpt_weights = not_provided(
    "convert_nanogpt_weights", "nanoGPT checkpoint conversion", "load a Hugging Face GPT-2 checkpoint instead"
)
