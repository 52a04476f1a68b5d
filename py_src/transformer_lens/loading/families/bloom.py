"""BLOOM: ALiBi instead of positional embeddings, a LayerNorm after the embeddings, fused per-head QKV."""

from __future__ import annotations

from typing import Any, Mapping

import einops
import torch

from transformer_lens.config import HookedTransformerConfig

HF_ARCHITECTURES = ("BloomForCausalLM",)

OFFICIAL_NAMES: dict[str, tuple[str, ...]] = {}


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    if hf_config.apply_residual_connection_post_layernorm:
        raise ValueError(
            "BLOOM apply_residual_connection_post_layernorm=True is not supported (nearest supported family: BLOOM with it False)"
        )
    return dict(
        d_model=hf_config.hidden_size,
        d_head=hf_config.hidden_size // hf_config.n_head,
        n_heads=hf_config.n_head,
        d_mlp=4 * hf_config.hidden_size,
        n_layers=hf_config.n_layer,
        # ALiBi has no position table, so no hard context limit; 2048 is BLOOM's training length.
        n_ctx=getattr(hf_config, "seq_length", None) or 2048,
        eps=hf_config.layer_norm_epsilon,
        d_vocab=hf_config.vocab_size,
        act_fn="gelu_fast",  # bloom_gelu_forward: the tanh approximation
        normalization_type="LN",
        positional_embedding_type="alibi",
        post_embedding_ln=True,
    )


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    hf = {key.removeprefix("transformer."): value for key, value in hf_tensors.items()}
    embed = hf["word_embeddings.weight"]
    sd: dict[str, torch.Tensor] = {
        "embed.W_E": embed,
        "embed.ln.w": hf["word_embeddings_layernorm.weight"],
        "embed.ln.b": hf["word_embeddings_layernorm.bias"],
    }
    for layer in range(cfg.n_layers):
        src, dst = f"h.{layer}.", f"blocks.{layer}."
        sd[dst + "ln1.w"], sd[dst + "ln1.b"] = hf[src + "input_layernorm.weight"], hf[src + "input_layernorm.bias"]
        sd[dst + "ln2.w"], sd[dst + "ln2.b"] = hf[src + "post_attention_layernorm.weight"], hf[src + "post_attention_layernorm.bias"]
        # query_key_value rows are laid out per head: [head, (q, k, v), d_head].
        qkv = einops.rearrange(
            hf[src + "self_attention.query_key_value.weight"], "(head three d_head) d_model -> three head d_model d_head",
            head=cfg.n_heads, three=3,
        )
        qkv_bias = einops.rearrange(
            hf[src + "self_attention.query_key_value.bias"], "(head three d_head) -> three head d_head", head=cfg.n_heads, three=3
        )
        for index, letter in enumerate("QKV"):
            sd[dst + f"attn.W_{letter}"], sd[dst + f"attn.b_{letter}"] = qkv[index], qkv_bias[index]
        sd[dst + "attn.W_O"] = einops.rearrange(
            hf[src + "self_attention.dense.weight"], "d_model (head d_head) -> head d_head d_model", head=cfg.n_heads
        )
        sd[dst + "attn.b_O"] = hf[src + "self_attention.dense.bias"]
        sd[dst + "mlp.W_in"], sd[dst + "mlp.b_in"] = hf[src + "mlp.dense_h_to_4h.weight"].T, hf[src + "mlp.dense_h_to_4h.bias"]
        sd[dst + "mlp.W_out"], sd[dst + "mlp.b_out"] = hf[src + "mlp.dense_4h_to_h.weight"].T, hf[src + "mlp.dense_4h_to_h.bias"]
    sd["ln_final.w"], sd["ln_final.b"] = hf["ln_f.weight"], hf["ln_f.bias"]
    sd["unembed.W_U"] = hf.get("lm_head.weight", embed).T
    sd["unembed.b_U"] = torch.zeros(cfg.d_vocab_out, dtype=embed.dtype)
    return sd
