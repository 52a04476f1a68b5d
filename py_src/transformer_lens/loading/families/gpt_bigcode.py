"""GPT-BigCode (santacoder, starcoder): GPT-2 layout with multi-query attention (one key/value head)."""

from __future__ import annotations

from typing import Any, Mapping

import einops
import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families._common import gpt2_style_sizes

HF_ARCHITECTURES = ("GPTBigCodeForCausalLM",)

OFFICIAL_NAMES: dict[str, tuple[str, ...]] = {}


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    if getattr(hf_config, "add_cross_attention", False):
        raise ValueError("GPT-BigCode with add_cross_attention=True is not supported (nearest supported family: GPT-BigCode decoder-only)")
    return dict(
        **gpt2_style_sizes(hf_config),
        n_key_value_heads=1 if hf_config.multi_query else None,
        use_attn_scale=hf_config.scale_attn_weights,
        positional_embedding_type="standard",
    )


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    """HF BigCode tensors (``nn.Linear``: ``[out, in]``) -> TransformerLens names and layouts."""
    hf = {key.removeprefix("transformer."): value for key, value in hf_tensors.items()}
    embed = hf["wte.weight"]
    sd: dict[str, torch.Tensor] = {"embed.W_E": embed, "pos_embed.W_pos": hf["wpe.weight"][: cfg.n_ctx]}
    n_kv = cfg.n_key_value_heads or cfg.n_heads
    for layer in range(cfg.n_layers):
        src, dst = f"h.{layer}.", f"blocks.{layer}."
        sd[dst + "ln1.w"], sd[dst + "ln1.b"] = hf[src + "ln_1.weight"], hf[src + "ln_1.bias"]
        sd[dst + "ln2.w"], sd[dst + "ln2.b"] = hf[src + "ln_2.weight"], hf[src + "ln_2.bias"]
        weight, bias = hf[src + "attn.c_attn.weight"], hf[src + "attn.c_attn.bias"]
        if cfg.n_key_value_heads == 1:  # rows: all query heads, then the one key head, then the one value head
            parts = weight.split([cfg.d_model, cfg.d_head, cfg.d_head]), bias.split([cfg.d_model, cfg.d_head, cfg.d_head])
            heads = (cfg.n_heads, n_kv, n_kv)
            for letter, w, b, h in zip("QKV", *parts, heads):
                sd[dst + f"attn.W_{letter}"] = einops.rearrange(w, "(head d_head) d_model -> head d_model d_head", head=h)
                sd[dst + f"attn.b_{letter}"] = einops.rearrange(b, "(head d_head) -> head d_head", head=h)
        else:  # rows laid out per head: [head, (q, k, v), d_head]
            w = einops.rearrange(weight, "(head three d_head) d_model -> three head d_model d_head", head=cfg.n_heads, three=3)
            b = einops.rearrange(bias, "(head three d_head) -> three head d_head", head=cfg.n_heads, three=3)
            for index, letter in enumerate("QKV"):
                sd[dst + f"attn.W_{letter}"], sd[dst + f"attn.b_{letter}"] = w[index], b[index]
        sd[dst + "attn.W_O"] = einops.rearrange(
            hf[src + "attn.c_proj.weight"], "d_model (head d_head) -> head d_head d_model", head=cfg.n_heads
        )
        sd[dst + "attn.b_O"] = hf[src + "attn.c_proj.bias"]
        sd[dst + "mlp.W_in"], sd[dst + "mlp.b_in"] = hf[src + "mlp.c_fc.weight"].T, hf[src + "mlp.c_fc.bias"]
        sd[dst + "mlp.W_out"], sd[dst + "mlp.b_out"] = hf[src + "mlp.c_proj.weight"].T, hf[src + "mlp.c_proj.bias"]
    sd["ln_final.w"], sd["ln_final.b"] = hf["ln_f.weight"], hf["ln_f.bias"]
    sd["unembed.W_U"] = hf.get("lm_head.weight", embed).T
    sd["unembed.b_U"] = torch.zeros(cfg.d_vocab_out, dtype=embed.dtype)
    return sd
