"""T5 (HookedEncoderDecoder): config mapping and weight conversion.

Dense ReLU (T5) and gated-GELU (T5 v1.1, Flan-T5) feed-forward layers; one table of relative
position biases per stack, in its first layer.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families._common import linear_from_heads, linear_to_heads

HF_ARCHITECTURES = ("T5ForConditionalGeneration",)

OFFICIAL_NAMES: dict[str, tuple[str, ...]] = {}


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    if hf_config.num_decoder_layers != hf_config.num_layers:
        raise ValueError(
            f"T5 checkpoints with num_decoder_layers ({hf_config.num_decoder_layers}) != num_layers ({hf_config.num_layers}) "
            "are not supported (nearest supported family: T5 with equal encoder and decoder depth)"
        )
    tie = bool(getattr(hf_config, "tie_word_embeddings", True))
    return dict(
        d_model=hf_config.d_model,
        d_head=hf_config.d_kv,
        n_heads=hf_config.num_heads,
        d_mlp=hf_config.d_ff,
        n_layers=hf_config.num_layers,
        n_ctx=getattr(hf_config, "n_positions", None) or 512,  # relative positions: no hard limit
        eps=hf_config.layer_norm_epsilon,
        d_vocab=hf_config.vocab_size,
        act_fn=hf_config.dense_act_fn,
        gated_mlp=bool(hf_config.is_gated_act),
        normalization_type="RMS",
        use_attn_scale=False,  # T5 folds the 1/sqrt(d_head) into its initialisation
        attention_dir="bidirectional",
        relative_attention_num_buckets=hf_config.relative_attention_num_buckets,
        relative_attention_max_distance=hf_config.relative_attention_max_distance,
        decoder_start_token_id=hf_config.decoder_start_token_id,
        tie_word_embeddings=tie,
        extra={"scale_decoder_outputs": bool(getattr(hf_config, "scale_decoder_outputs", tie))},
    )


def _attention(hf: Mapping[str, torch.Tensor], src: str, dst: str, cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    zeros = torch.zeros(cfg.n_heads, cfg.d_head, dtype=hf[src + "q.weight"].dtype)
    out = {dst + "W_O": linear_from_heads(hf[src + "o.weight"], cfg.n_heads), dst + "b_O": torch.zeros(cfg.d_model, dtype=zeros.dtype)}
    for letter, name in (("Q", "q"), ("K", "k"), ("V", "v")):
        out[dst + f"W_{letter}"], out[dst + f"b_{letter}"] = linear_to_heads(hf[src + f"{name}.weight"], cfg.n_heads), zeros
    return out


def _mlp(hf: Mapping[str, torch.Tensor], src: str, dst: str, cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    dtype = hf[src + "wo.weight"].dtype
    out = {
        dst + "W_out": hf[src + "wo.weight"].T,
        dst + "b_in": torch.zeros(cfg.d_mlp, dtype=dtype),
        dst + "b_out": torch.zeros(cfg.d_model, dtype=dtype),
    }
    if cfg.gated_mlp:
        out[dst + "W_gate"], out[dst + "W_in"] = hf[src + "wi_0.weight"].T, hf[src + "wi_1.weight"].T
    else:
        out[dst + "W_in"] = hf[src + "wi.weight"].T
    return out


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    hf = dict(hf_tensors)
    shared = hf["shared.weight"] if "shared.weight" in hf else hf["encoder.embed_tokens.weight"]
    sd: dict[str, torch.Tensor] = {"embed.W_E": shared}
    for stack in ("encoder", "decoder"):
        bias_key = f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"
        sd[f"{stack}.0.attn.rel_pos_bias.weight"] = hf[bias_key]
        for layer in range(cfg.n_layers):
            src, dst = f"{stack}.block.{layer}.layer.", f"{stack}.{layer}."
            sd[dst + "ln1.w"] = hf[src + "0.layer_norm.weight"]
            sd.update(_attention(hf, src + "0.SelfAttention.", dst + "attn.", cfg))
            mlp_index = 1
            if stack == "decoder":
                sd[dst + "ln2.w"] = hf[src + "1.layer_norm.weight"]
                sd.update(_attention(hf, src + "1.EncDecAttention.", dst + "cross_attn.", cfg))
                mlp_index = 2
            sd[dst + ("ln3.w" if stack == "decoder" else "ln2.w")] = hf[src + f"{mlp_index}.layer_norm.weight"]
            sd.update(_mlp(hf, src + f"{mlp_index}.DenseReluDense.", dst + "mlp.", cfg))
        sd[f"{stack}_final_ln.w"] = hf[f"{stack}.final_layer_norm.weight"]
    tied = cfg.tie_word_embeddings or "lm_head.weight" not in hf
    sd["unembed.W_U"] = (shared if tied else hf["lm_head.weight"]).T
    sd["unembed.b_U"] = torch.zeros(cfg.d_vocab_out, dtype=shared.dtype)
    return sd
