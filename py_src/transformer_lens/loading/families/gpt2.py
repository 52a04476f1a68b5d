"""GPT-2 family (gpt2, gpt2-medium/large/xl, distilgpt2): config mapping and weight conversion."""

from __future__ import annotations

from typing import Any, Mapping

import einops
import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families._common import gpt2_style_sizes

HF_ARCHITECTURES = ("GPT2LMHeadModel", "GPT2Model")


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    return dict(
        **gpt2_style_sizes(hf_config),
        use_attn_scale=hf_config.scale_attn_weights,
        scale_attn_by_inverse_layer_idx=hf_config.scale_attn_by_inverse_layer_idx,
        positional_embedding_type="standard",
    )


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    """HF GPT-2 tensors (Conv1D layout: ``x @ W``) -> TransformerLens names and layouts."""
    hf = {key.removeprefix("transformer."): value for key, value in hf_tensors.items()}
    sd: dict[str, torch.Tensor] = {"embed.W_E": hf["wte.weight"], "pos_embed.W_pos": hf["wpe.weight"]}
    for layer in range(cfg.n_layers):
        src, dst = f"h.{layer}.", f"blocks.{layer}."
        sd[dst + "ln1.w"], sd[dst + "ln1.b"] = hf[src + "ln_1.weight"], hf[src + "ln_1.bias"]
        w_q, w_k, w_v = hf[src + "attn.c_attn.weight"].chunk(3, dim=1)
        b_q, b_k, b_v = hf[src + "attn.c_attn.bias"].chunk(3, dim=0)
        to_heads = "d_model (head d_head) -> head d_model d_head"
        bias_heads = "(head d_head) -> head d_head"
        sd[dst + "attn.W_Q"] = einops.rearrange(w_q, to_heads, head=cfg.n_heads)
        sd[dst + "attn.W_K"] = einops.rearrange(w_k, to_heads, head=cfg.n_heads)
        sd[dst + "attn.W_V"] = einops.rearrange(w_v, to_heads, head=cfg.n_heads)
        sd[dst + "attn.b_Q"] = einops.rearrange(b_q, bias_heads, head=cfg.n_heads)
        sd[dst + "attn.b_K"] = einops.rearrange(b_k, bias_heads, head=cfg.n_heads)
        sd[dst + "attn.b_V"] = einops.rearrange(b_v, bias_heads, head=cfg.n_heads)
        sd[dst + "attn.W_O"] = einops.rearrange(
            hf[src + "attn.c_proj.weight"], "(head d_head) d_model -> head d_head d_model", head=cfg.n_heads
        )
        sd[dst + "attn.b_O"] = hf[src + "attn.c_proj.bias"]
        sd[dst + "ln2.w"], sd[dst + "ln2.b"] = hf[src + "ln_2.weight"], hf[src + "ln_2.bias"]
        sd[dst + "mlp.W_in"], sd[dst + "mlp.b_in"] = hf[src + "mlp.c_fc.weight"], hf[src + "mlp.c_fc.bias"]
        sd[dst + "mlp.W_out"], sd[dst + "mlp.b_out"] = hf[src + "mlp.c_proj.weight"], hf[src + "mlp.c_proj.bias"]
    sd["ln_final.w"], sd["ln_final.b"] = hf["ln_f.weight"], hf["ln_f.bias"]
    # GPT-2 ties the unembedding to the embedding; checkpoints often omit lm_head.
    sd["unembed.W_U"] = hf.get("lm_head.weight", hf["wte.weight"]).T
    sd["unembed.b_U"] = torch.zeros(cfg.d_vocab_out, dtype=sd["unembed.W_U"].dtype)
    return sd
