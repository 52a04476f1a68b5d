"""OPT: learned positions stored with an offset of 2, ReLU MLP; pre-LN, or post-LN with projected embeddings (opt-350m).

opt-350m embeds in ``word_embed_proj_dim`` (512) and projects in and out of the 1024-wide
residual stream; both projections are linear and bias-free, so they are folded into ``W_E``
and ``W_U`` (``hook_embed`` then holds the projected embedding).
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families._common import bias_to_heads, linear_from_heads, linear_to_heads, strip_prefixes

HF_ARCHITECTURES = ("OPTForCausalLM",)


# OPT's learned position table starts two rows in (a fairseq padding convention).
POSITION_OFFSET = 2


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    if not getattr(hf_config, "layer_norm_elementwise_affine", True):
        raise ValueError("OPT checkpoints with layer_norm_elementwise_affine=False are not supported (nearest: OPT with affine LayerNorms)")
    if getattr(hf_config, "_remove_final_layer_norm", False):
        raise ValueError("OPT checkpoints with _remove_final_layer_norm=True are not supported (nearest: OPT with a final LayerNorm)")
    return dict(
        post_layer_norm=not hf_config.do_layer_norm_before,
        d_model=hf_config.hidden_size,
        d_head=hf_config.hidden_size // hf_config.num_attention_heads,
        n_heads=hf_config.num_attention_heads,
        d_mlp=hf_config.ffn_dim,
        n_layers=hf_config.num_hidden_layers,
        n_ctx=hf_config.max_position_embeddings,
        eps=1e-5,
        d_vocab=hf_config.vocab_size,
        act_fn=hf_config.activation_function,
        normalization_type="LN",
        positional_embedding_type="standard",
    )


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    hf = strip_prefixes(hf_tensors, "model.decoder.", "decoder.")
    embed = hf["embed_tokens.weight"]
    unembed = hf.get("lm_head.weight", embed)
    if "project_in.weight" in hf:  # [d_model, word_embed_proj_dim]
        embed = embed @ hf["project_in.weight"].T
    if "project_out.weight" in hf:  # [word_embed_proj_dim, d_model]
        unembed = unembed @ hf["project_out.weight"]
    zeros = lambda size: torch.zeros(size, dtype=embed.dtype)  # noqa: E731  (enable_bias=False checkpoints)
    sd: dict[str, torch.Tensor] = {
        "embed.W_E": embed,
        "pos_embed.W_pos": hf["embed_positions.weight"][POSITION_OFFSET : POSITION_OFFSET + cfg.n_ctx],
    }
    for layer in range(cfg.n_layers):
        src, dst = f"layers.{layer}.", f"blocks.{layer}."
        sd[dst + "ln1.w"], sd[dst + "ln1.b"] = hf[src + "self_attn_layer_norm.weight"], hf[src + "self_attn_layer_norm.bias"]
        sd[dst + "ln2.w"], sd[dst + "ln2.b"] = hf[src + "final_layer_norm.weight"], hf[src + "final_layer_norm.bias"]
        for (w_name, b_name), proj in ((("W_Q", "b_Q"), "q_proj"), (("W_K", "b_K"), "k_proj"), (("W_V", "b_V"), "v_proj")):
            sd[dst + "attn." + w_name] = linear_to_heads(hf[src + f"self_attn.{proj}.weight"], cfg.n_heads)
            sd[dst + "attn." + b_name] = bias_to_heads(hf.get(src + f"self_attn.{proj}.bias"), cfg.n_heads, cfg.d_head, embed)
        sd[dst + "attn.W_O"] = linear_from_heads(hf[src + "self_attn.out_proj.weight"], cfg.n_heads)
        sd[dst + "attn.b_O"] = hf.get(src + "self_attn.out_proj.bias", torch.zeros(cfg.d_model, dtype=embed.dtype))
        sd[dst + "mlp.W_in"], sd[dst + "mlp.b_in"] = hf[src + "fc1.weight"].T, hf.get(src + "fc1.bias", zeros(cfg.d_mlp))
        sd[dst + "mlp.W_out"], sd[dst + "mlp.b_out"] = hf[src + "fc2.weight"].T, hf.get(src + "fc2.bias", zeros(cfg.d_model))
    if not cfg.post_layer_norm:  # post-LN OPT has no final LayerNorm: the last block's ln2 ends the stack
        sd["ln_final.w"], sd["ln_final.b"] = hf["final_layer_norm.weight"], hf["final_layer_norm.bias"]
    sd["unembed.W_U"] = unembed.T
    sd["unembed.b_U"] = torch.zeros(cfg.d_vocab_out, dtype=embed.dtype)
    return sd
