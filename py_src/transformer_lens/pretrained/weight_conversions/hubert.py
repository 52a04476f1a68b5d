"""Upstream's ``convert_hubert_weights``: a HuBERT encoder's transformer layers in TransformerLens names.

LensLab runs no audio models (no ``HookedAudioEncoder``: use Hugging Face's ``HubertModel``); this
conversion is a pure renaming of the encoder layers' tensors, provided for code written against
upstream. The convolutional feature extractor and positional convolution are not converted.
"""

from __future__ import annotations

from typing import Any

import torch

from transformer_lens.loading.families._common import bias_to_heads, linear_from_heads, linear_to_heads
from transformer_lens.pretrained.weight_conversions._adapter import _as_config, _hf_tensors


def convert_hubert_weights(hf_model: Any, cfg: Any) -> "dict[str, torch.Tensor]":
    """``blocks.{l}.attn.*``, ``ln1`` (the attention's ``layer_norm``), ``ln2`` (``final_layer_norm``),
    ``mlp.*`` and ``ln_final`` (the encoder's ``layer_norm``); bias keys only where HuBERT has biases."""
    config = _as_config(cfg)
    try:
        tensors = _hf_tensors(hf_model)
    except TypeError:
        tensors = {}
    # A HubertForCTC/...Classification model holds the encoder under "hubert.".
    hf = {key.removeprefix("hubert."): value for key, value in tensors.items()}
    if not any(key.startswith("encoder.layers.") for key in hf):
        raise ValueError("convert_hubert_weights needs a HuBERT model with encoder.layers (none found)")
    sd: dict[str, torch.Tensor] = {}
    for layer in range(config.n_layers):
        src, dst = f"encoder.layers.{layer}.", f"blocks.{layer}."
        for name, proj in (("Q", "q_proj"), ("K", "k_proj"), ("V", "v_proj")):
            sd[f"{dst}attn.W_{name}"] = linear_to_heads(hf[f"{src}attention.{proj}.weight"], config.n_heads)
            bias = hf.get(f"{src}attention.{proj}.bias")
            if bias is not None:
                sd[f"{dst}attn.b_{name}"] = bias_to_heads(bias, config.n_heads, config.d_head, bias)
        sd[f"{dst}attn.W_O"] = linear_from_heads(hf[f"{src}attention.out_proj.weight"], config.n_heads)
        if f"{src}attention.out_proj.bias" in hf:
            sd[f"{dst}attn.b_O"] = hf[f"{src}attention.out_proj.bias"]
        for ln, hf_ln in (("ln1", "layer_norm"), ("ln2", "final_layer_norm")):
            sd[f"{dst}{ln}.w"], sd[f"{dst}{ln}.b"] = hf[f"{src}{hf_ln}.weight"], hf[f"{src}{hf_ln}.bias"]
        sd[f"{dst}mlp.W_in"] = hf[f"{src}feed_forward.intermediate_dense.weight"].T
        sd[f"{dst}mlp.b_in"] = hf[f"{src}feed_forward.intermediate_dense.bias"]
        sd[f"{dst}mlp.W_out"] = hf[f"{src}feed_forward.output_dense.weight"].T
        sd[f"{dst}mlp.b_out"] = hf[f"{src}feed_forward.output_dense.bias"]
    if "encoder.layer_norm.weight" in hf:
        sd["ln_final.w"], sd["ln_final.b"] = hf["encoder.layer_norm.weight"], hf["encoder.layer_norm.bias"]
    return sd
