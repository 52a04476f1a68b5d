"""GPT-Neo: absolute positions, alternating global/local attention, unscaled attention scores."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families._common import bias_to_heads, linear_from_heads, linear_to_heads, strip_prefixes

HF_ARCHITECTURES = ("GPTNeoForCausalLM",)


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    return dict(
        d_model=hf_config.hidden_size,
        d_head=hf_config.hidden_size // hf_config.num_heads,
        n_heads=hf_config.num_heads,
        d_mlp=hf_config.intermediate_size or 4 * hf_config.hidden_size,
        n_layers=hf_config.num_layers,
        n_ctx=hf_config.max_position_embeddings,
        eps=hf_config.layer_norm_epsilon,
        d_vocab=hf_config.vocab_size,
        act_fn=hf_config.activation_function,
        use_attn_scale=False,  # GPT-Neo never divides scores by sqrt(d_head)
        use_local_attn=True,
        window_size=hf_config.window_size,
        attn_types=list(hf_config.attention_layers),
        normalization_type="LN",
        positional_embedding_type="standard",
    )


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    hf = strip_prefixes(hf_tensors, "transformer.")
    sd: dict[str, torch.Tensor] = {"embed.W_E": hf["wte.weight"], "pos_embed.W_pos": hf["wpe.weight"]}
    for layer in range(cfg.n_layers):
        src, dst = f"h.{layer}.", f"blocks.{layer}."
        attn = src + "attn.attention."
        sd[dst + "ln1.w"], sd[dst + "ln1.b"] = hf[src + "ln_1.weight"], hf[src + "ln_1.bias"]
        sd[dst + "ln2.w"], sd[dst + "ln2.b"] = hf[src + "ln_2.weight"], hf[src + "ln_2.bias"]
        for ours, theirs in (("W_Q", "q_proj"), ("W_K", "k_proj"), ("W_V", "v_proj")):
            sd[dst + "attn." + ours] = linear_to_heads(hf[attn + theirs + ".weight"], cfg.n_heads)
        for ours in ("b_Q", "b_K", "b_V"):
            sd[dst + "attn." + ours] = bias_to_heads(None, cfg.n_heads, cfg.d_head, hf["wte.weight"])
        sd[dst + "attn.W_O"] = linear_from_heads(hf[attn + "out_proj.weight"], cfg.n_heads)
        sd[dst + "attn.b_O"] = hf[attn + "out_proj.bias"]
        sd[dst + "mlp.W_in"], sd[dst + "mlp.b_in"] = hf[src + "mlp.c_fc.weight"].T, hf[src + "mlp.c_fc.bias"]
        sd[dst + "mlp.W_out"], sd[dst + "mlp.b_out"] = hf[src + "mlp.c_proj.weight"].T, hf[src + "mlp.c_proj.bias"]
    sd["ln_final.w"], sd["ln_final.b"] = hf["ln_f.weight"], hf["ln_f.bias"]
    sd["unembed.W_U"] = hf.get("lm_head.weight", hf["wte.weight"]).T
    sd["unembed.b_U"] = torch.zeros(cfg.d_vocab_out, dtype=sd["unembed.W_U"].dtype)
    return sd
