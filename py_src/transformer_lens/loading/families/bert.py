"""BERT family (HookedEncoder): config mapping and weight conversion.

Handles ``BertForMaskedLM`` and ``BertForPreTraining`` checkpoints (MLM head converted), plain
``BertModel`` ones (encoder only) and ``BertForNextSentencePrediction`` ones; the pooler and the
next-sentence head are converted for the last two kinds and ``BertForPreTraining``.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import einops
import torch

from transformer_lens.config import HookedTransformerConfig

HF_ARCHITECTURES = ("BertForMaskedLM", "BertForPreTraining", "BertModel", "BertForNextSentencePrediction")
# Architectures whose checkpoints carry no head at all (loading warns: no logits).
ENCODER_ONLY_ARCHITECTURES = ("BertModel",)
# Architectures without an MLM head: HookedEncoder builds no mlm_head/unembed.
NO_MLM_HEAD_ARCHITECTURES = ("BertModel", "BertForNextSentencePrediction")
# Architectures with a pooler and a next-sentence head (HookedEncoder's pooler and nsp_head).
NSP_ARCHITECTURES = ("BertForPreTraining", "BertForNextSentencePrediction")

# BertConfig attributes that change the forward pass, with the only value we implement.
_REQUIRED_HF_VALUES = {"position_embedding_type": "absolute", "is_decoder": False, "add_cross_attention": False}


def load_warning(model_name: str, architecture: str) -> Optional[str]:
    """What loading this checkpoint leaves out, said once at ``from_pretrained`` (None: nothing)."""
    if architecture not in ENCODER_ONLY_ARCHITECTURES:
        return None
    return (
        f"{model_name} is a {architecture} checkpoint with no MLM head: HookedEncoder loads the encoder only, "
        "so return_type='logits' is unavailable; use return_type=None with run_with_cache or hooks, "
        "or encoder_output() for the final residual stream"
    )


def official_name(name: str) -> str | None:
    """The official repo id for a BERT name or alias (case-insensitive), else None."""
    from transformer_lens.loading import registry

    return registry.get_official_model_name(name) if registry.encoder_name_error(name) is not None else None


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    for key, expected in _REQUIRED_HF_VALUES.items():
        value = getattr(hf_config, key, expected)
        if value != expected:
            raise ValueError(f"BERT checkpoints with {key}={value!r} are not supported (only {expected!r})")
    return dict(
        d_model=hf_config.hidden_size,
        d_head=hf_config.hidden_size // hf_config.num_attention_heads,
        n_heads=hf_config.num_attention_heads,
        d_mlp=hf_config.intermediate_size,
        n_layers=hf_config.num_hidden_layers,
        n_ctx=hf_config.max_position_embeddings,
        eps=hf_config.layer_norm_eps,
        d_vocab=hf_config.vocab_size,
        act_fn=hf_config.hidden_act,
        attention_dir="bidirectional",
        normalization_type="LN",
        positional_embedding_type="standard",
        tie_word_embeddings=bool(getattr(hf_config, "tie_word_embeddings", True)),
        extra={"type_vocab_size": hf_config.type_vocab_size},
    )


def _normalise_keys(hf_tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop the ``bert.`` prefix and map TF-era LayerNorm names (gamma/beta) to weight/bias."""
    out = {}
    for key, value in hf_tensors.items():
        key = key.removeprefix("bert.")
        if key.endswith(".gamma"):
            key = key.removesuffix(".gamma") + ".weight"
        elif key.endswith(".beta"):
            key = key.removesuffix(".beta") + ".bias"
        out[key] = value
    return out


def has_mlm_head(hf_tensors: Mapping[str, torch.Tensor]) -> bool:
    return any(key.startswith("cls.predictions.") for key in hf_tensors)


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    """HF BERT tensors (``nn.Linear`` layout: ``x @ W.T``) -> TransformerLens names and layouts."""
    hf = _normalise_keys(hf_tensors)

    def get(key: str) -> torch.Tensor:
        if key not in hf:
            raise ValueError(f"BERT checkpoint is missing tensor {key!r}")
        return hf[key]

    to_heads = "(head d_head) d_model -> head d_model d_head"
    bias_heads = "(head d_head) -> head d_head"
    sd: dict[str, torch.Tensor] = {
        "embed.embed.W_E": get("embeddings.word_embeddings.weight"),
        "embed.pos_embed.W_pos": get("embeddings.position_embeddings.weight"),
        "embed.token_type_embed.W_token_type": get("embeddings.token_type_embeddings.weight"),
        "embed.ln.w": get("embeddings.LayerNorm.weight"),
        "embed.ln.b": get("embeddings.LayerNorm.bias"),
    }
    for layer in range(cfg.n_layers):
        src, dst = f"encoder.layer.{layer}.", f"blocks.{layer}."
        for proj, name in (("query", "W_Q"), ("key", "W_K"), ("value", "W_V")):
            sd[dst + f"attn.{name}"] = einops.rearrange(
                get(src + f"attention.self.{proj}.weight"), to_heads, head=cfg.n_heads
            )
        for proj, name in (("query", "b_Q"), ("key", "b_K"), ("value", "b_V")):
            sd[dst + f"attn.{name}"] = einops.rearrange(
                get(src + f"attention.self.{proj}.bias"), bias_heads, head=cfg.n_heads
            )
        sd[dst + "attn.W_O"] = einops.rearrange(
            get(src + "attention.output.dense.weight"), "d_model (head d_head) -> head d_head d_model", head=cfg.n_heads
        )
        sd[dst + "attn.b_O"] = get(src + "attention.output.dense.bias")
        sd[dst + "ln1.w"] = get(src + "attention.output.LayerNorm.weight")
        sd[dst + "ln1.b"] = get(src + "attention.output.LayerNorm.bias")
        sd[dst + "mlp.W_in"] = get(src + "intermediate.dense.weight").T
        sd[dst + "mlp.b_in"] = get(src + "intermediate.dense.bias")
        sd[dst + "mlp.W_out"] = get(src + "output.dense.weight").T
        sd[dst + "mlp.b_out"] = get(src + "output.dense.bias")
        sd[dst + "ln2.w"] = get(src + "output.LayerNorm.weight")
        sd[dst + "ln2.b"] = get(src + "output.LayerNorm.bias")
    if cfg.original_architecture in NSP_ARCHITECTURES:
        sd["pooler.W"], sd["pooler.b"] = get("pooler.dense.weight").T, get("pooler.dense.bias")
        sd["nsp_head.W"], sd["nsp_head.b"] = get("cls.seq_relationship.weight").T, get("cls.seq_relationship.bias")
    if cfg.original_architecture in NO_MLM_HEAD_ARCHITECTURES:
        return sd
    head = "cls.predictions."
    sd["mlm_head.W"] = get(head + "transform.dense.weight").T
    sd["mlm_head.b"] = get(head + "transform.dense.bias")
    sd["mlm_head.ln.w"] = get(head + "transform.LayerNorm.weight")
    sd["mlm_head.ln.b"] = get(head + "transform.LayerNorm.bias")
    # The decoder is tied to the word embeddings, so safetensors files usually omit it.
    tied = cfg.tie_word_embeddings or head + "decoder.weight" not in hf
    sd["unembed.W_U"] = (sd["embed.embed.W_E"] if tied else hf[head + "decoder.weight"]).T
    sd["unembed.b_U"] = hf.get(head + "bias", hf.get(head + "decoder.bias"))
    if sd["unembed.b_U"] is None:
        sd["unembed.b_U"] = torch.zeros(cfg.d_vocab_out, dtype=sd["unembed.W_U"].dtype)
    return sd
