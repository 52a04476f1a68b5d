"""Upstream's ``convert_hubert_weights``: not provided (LensLab has no audio models)."""

from transformer_lens.pretrained.weight_conversions._adapter import not_provided

convert_hubert_weights = not_provided(
    "convert_hubert_weights", "HuBERT (HookedAudioEncoder)", "use Hugging Face transformers' HubertModel directly"
)
