"""GPT-NeoX / Pythia: parallel attention and MLP, partial rotary, fused per-head QKV."""

from __future__ import annotations

from typing import Any, Mapping

import einops
import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families._common import linear_from_heads, rotary_config, strip_prefixes

HF_ARCHITECTURES = ("GPTNeoXForCausalLM",)


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    d_head = hf_config.hidden_size // hf_config.num_attention_heads
    return dict(
        d_model=hf_config.hidden_size,
        d_head=d_head,
        n_heads=hf_config.num_attention_heads,
        d_mlp=hf_config.intermediate_size,
        n_layers=hf_config.num_hidden_layers,
        n_ctx=hf_config.max_position_embeddings,
        eps=hf_config.layer_norm_eps,
        d_vocab=hf_config.vocab_size,
        act_fn=hf_config.hidden_act,
        normalization_type="LN",
        **rotary_config(hf_config, d_head, "neox"),
        parallel_attn_mlp=hf_config.use_parallel_residual,
        default_prepend_bos=False,  # as upstream: Pythia was trained without a BOS token
    )


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    hf = strip_prefixes(hf_tensors, "gpt_neox.")
    sd: dict[str, torch.Tensor] = {"embed.W_E": hf["embed_in.weight"]}
    for layer in range(cfg.n_layers):
        src, dst = f"layers.{layer}.", f"blocks.{layer}."
        sd[dst + "ln1.w"], sd[dst + "ln1.b"] = hf[src + "input_layernorm.weight"], hf[src + "input_layernorm.bias"]
        sd[dst + "ln2.w"], sd[dst + "ln2.b"] = hf[src + "post_attention_layernorm.weight"], hf[src + "post_attention_layernorm.bias"]
        # NeoX interleaves q, k, v per head: output rows are (head, [q|k|v], d_head).
        qkv = einops.rearrange(
            hf[src + "attention.query_key_value.weight"],
            "(head three d_head) d_model -> three head d_model d_head",
            head=cfg.n_heads,
            three=3,
        )
        qkv_bias = einops.rearrange(
            hf[src + "attention.query_key_value.bias"], "(head three d_head) -> three head d_head", head=cfg.n_heads, three=3
        )
        sd[dst + "attn.W_Q"], sd[dst + "attn.W_K"], sd[dst + "attn.W_V"] = qkv
        sd[dst + "attn.b_Q"], sd[dst + "attn.b_K"], sd[dst + "attn.b_V"] = qkv_bias
        sd[dst + "attn.W_O"] = linear_from_heads(hf[src + "attention.dense.weight"], cfg.n_heads)
        sd[dst + "attn.b_O"] = hf[src + "attention.dense.bias"]
        sd[dst + "mlp.W_in"], sd[dst + "mlp.b_in"] = hf[src + "mlp.dense_h_to_4h.weight"].T, hf[src + "mlp.dense_h_to_4h.bias"]
        sd[dst + "mlp.W_out"], sd[dst + "mlp.b_out"] = hf[src + "mlp.dense_4h_to_h.weight"].T, hf[src + "mlp.dense_4h_to_h.bias"]
    sd["ln_final.w"], sd["ln_final.b"] = hf["final_layer_norm.weight"], hf["final_layer_norm.bias"]
    sd["unembed.W_U"] = hf.get("lm_head.weight", hf.get("embed_out.weight")).T
    sd["unembed.b_U"] = torch.zeros(cfg.d_vocab_out, dtype=sd["unembed.W_U"].dtype)
    return sd
