"""Qwen (1), QWenLMHeadModel: GPT-2-like tensor names over a LLaMA-style block.

transformers ships no class for it (it is remote code), so the loader reads its config.json
as a plain dict when AutoConfig cannot (``PLAIN_CONFIG``). Fused ``c_attn`` holds [q; k; v]
with biases; the MLP is ``c_proj(w1(x) * silu(w2(x)))``. Qwen's dynamic-NTK and log-n
attention only act past ``seq_length``, which is this model's ``n_ctx``.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families._common import bias_to_heads, linear_from_heads, linear_to_heads, strip_prefixes

HF_ARCHITECTURES = ("QWenLMHeadModel",)
PLAIN_CONFIG = True

OFFICIAL_NAMES: dict[str, tuple[str, ...]] = {}  # names are kept by the model-name registry


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    if not getattr(hf_config, "no_bias", True):
        raise ValueError("Qwen (1) with no_bias=False (biased MLP gate) is not supported; nearest supported family: qwen with no_bias=True")
    d_head = getattr(hf_config, "kv_channels", None) or hf_config.hidden_size // hf_config.num_attention_heads
    return dict(
        d_model=hf_config.hidden_size,
        d_head=d_head,
        n_heads=hf_config.num_attention_heads,
        d_mlp=hf_config.intermediate_size // 2,
        n_layers=hf_config.num_hidden_layers,
        n_ctx=hf_config.seq_length,
        eps=hf_config.layer_norm_epsilon,
        d_vocab=hf_config.vocab_size,
        act_fn="silu",
        use_attn_scale=bool(getattr(hf_config, "scale_attn_weights", True)),
        normalization_type="RMS",
        final_rms=True,
        gated_mlp=True,
        positional_embedding_type="rotary",
        rotary_base=float(getattr(hf_config, "rotary_emb_base", 10000.0)),
        rotary_dim=int(d_head * float(getattr(hf_config, "rotary_pct", 1.0))),
        tokenizer_prepends_bos=True,
        default_prepend_bos=False,
    )


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    hf = strip_prefixes(hf_tensors, "transformer.")
    embed = hf["wte.weight"]
    width = cfg.n_heads * cfg.d_head
    sd: dict[str, torch.Tensor] = {"embed.W_E": embed}
    for layer in range(cfg.n_layers):
        src, dst = f"h.{layer}.", f"blocks.{layer}."
        sd[dst + "ln1.w"], sd[dst + "ln2.w"] = hf[src + "ln_1.weight"], hf[src + "ln_2.weight"]
        weights = hf[src + "attn.c_attn.weight"].split(width, dim=0)
        biases = hf[src + "attn.c_attn.bias"].split(width, dim=0)
        for letter, weight, bias in zip("QKV", weights, biases):
            sd[f"{dst}attn.W_{letter}"] = linear_to_heads(weight, cfg.n_heads)
            sd[f"{dst}attn.b_{letter}"] = bias_to_heads(bias, cfg.n_heads, cfg.d_head, embed)
        sd[dst + "attn.W_O"] = linear_from_heads(hf[src + "attn.c_proj.weight"], cfg.n_heads)
        sd[dst + "attn.b_O"] = hf.get(src + "attn.c_proj.bias", torch.zeros(cfg.d_model, dtype=embed.dtype))
        sd[dst + "mlp.W_in"] = hf[src + "mlp.w1.weight"].T
        sd[dst + "mlp.W_gate"] = hf[src + "mlp.w2.weight"].T
        sd[dst + "mlp.b_in"] = hf.get(src + "mlp.w1.bias", torch.zeros(cfg.d_mlp, dtype=embed.dtype))
        sd[dst + "mlp.W_out"] = hf[src + "mlp.c_proj.weight"].T
        sd[dst + "mlp.b_out"] = hf.get(src + "mlp.c_proj.bias", torch.zeros(cfg.d_model, dtype=embed.dtype))
    sd["ln_final.w"] = hf["ln_f.weight"]
    sd["unembed.W_U"] = hf.get("lm_head.weight", embed).T
    sd["unembed.b_U"] = torch.zeros(cfg.d_vocab_out, dtype=embed.dtype)
    return sd
