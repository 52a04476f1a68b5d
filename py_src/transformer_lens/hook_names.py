"""The single table of hook points: name templates, symbolic shapes and descriptions.

Everything that needs to know hook names (``utils.get_act_name``, the cache's shorthand
keys, the "did you mean" error for unknown hooks, the JupyterLab sidebar's hook tree)
reads this table, so a hook name is written exactly once.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Union


@dataclass(frozen=True)
class HookSpec:
    """One hook point kind: where it sits, its activation shape and what it holds."""

    template: str  # "{layer}" marks the block index; no placeholder for model-level hooks
    shape: tuple[str, ...]
    description: str
    component: str  # "embed", "attn", "mlp", "ln", "resid", "final" (groups the sidebar tree)
    enabled_by: Optional[str] = None  # config flag without which the hook never fires

    @property
    def short_name(self) -> str:
        return self.template.rsplit("hook_", 1)[1]


_BATCH_POS = ("batch", "pos")

HOOK_SPECS: tuple[HookSpec, ...] = (
    HookSpec("hook_embed", (*_BATCH_POS, "d_model"), "Token embeddings W_E[tokens].", "embed"),
    HookSpec("hook_pos_embed", (*_BATCH_POS, "d_model"), "Positional embeddings W_pos[pos].", "embed"),
    HookSpec("hook_tokens", _BATCH_POS, "Input token ids (only with cfg.use_hook_tokens).", "embed", "use_hook_tokens"),
    HookSpec("blocks.{layer}.hook_resid_pre", (*_BATCH_POS, "d_model"), "Residual stream entering the block.", "resid"),
    HookSpec("blocks.{layer}.ln1.hook_scale", (*_BATCH_POS, "1"), "LayerNorm scale (std) before attention.", "ln"),
    HookSpec("blocks.{layer}.ln1.hook_normalized", (*_BATCH_POS, "d_model"), "Normalized input to attention, before the norm's w and b.", "ln"),
    HookSpec("blocks.{layer}.hook_attn_in", (*_BATCH_POS, "head_index", "d_model"), "Per-head attention input (cfg.use_attn_in).", "attn", "use_attn_in"),
    HookSpec("blocks.{layer}.hook_q_input", (*_BATCH_POS, "head_index", "d_model"), "Per-head query input (cfg.use_split_qkv_input).", "attn", "use_split_qkv_input"),
    HookSpec("blocks.{layer}.hook_k_input", (*_BATCH_POS, "head_index", "d_model"), "Per-head key input (cfg.use_split_qkv_input; one per key/value head under GQA).", "attn", "use_split_qkv_input"),
    HookSpec("blocks.{layer}.hook_v_input", (*_BATCH_POS, "head_index", "d_model"), "Per-head value input (cfg.use_split_qkv_input; one per key/value head under GQA).", "attn", "use_split_qkv_input"),
    HookSpec("blocks.{layer}.attn.hook_q", (*_BATCH_POS, "head_index", "d_head"), "Queries.", "attn"),
    HookSpec("blocks.{layer}.attn.hook_k", (*_BATCH_POS, "head_index", "d_head"), "Keys.", "attn"),
    HookSpec("blocks.{layer}.attn.hook_v", (*_BATCH_POS, "head_index", "d_head"), "Values.", "attn"),
    HookSpec("blocks.{layer}.attn.q_norm.hook_scale", (*_BATCH_POS, "head_index", "1"), "Query norm scale (cfg.use_qk_norm: Gemma 3, Qwen 3, OLMo 2, OLMoE).", "attn"),
    HookSpec("blocks.{layer}.attn.q_norm.hook_normalized", (*_BATCH_POS, "head_index", "d_head"), "Normalized queries (cfg.use_qk_norm), before rotary.", "attn"),
    HookSpec("blocks.{layer}.attn.k_norm.hook_scale", (*_BATCH_POS, "head_index", "1"), "Key norm scale (cfg.use_qk_norm).", "attn"),
    HookSpec("blocks.{layer}.attn.k_norm.hook_normalized", (*_BATCH_POS, "head_index", "d_head"), "Normalized keys (cfg.use_qk_norm), before rotary.", "attn"),
    HookSpec("blocks.{layer}.attn.hook_rot_q", (*_BATCH_POS, "head_index", "d_head"), "Queries after rotary embedding.", "attn"),
    HookSpec("blocks.{layer}.attn.hook_rot_k", (*_BATCH_POS, "head_index", "d_head"), "Keys after rotary embedding.", "attn"),
    HookSpec("blocks.{layer}.attn.hook_attn_scores", ("batch", "head_index", "query_pos", "key_pos"), "Scaled, masked attention logits before softmax.", "attn"),
    HookSpec("blocks.{layer}.attn.hook_pattern", ("batch", "head_index", "query_pos", "key_pos"), "Attention probabilities (softmax of the scores).", "attn"),
    HookSpec("blocks.{layer}.attn.hook_z", (*_BATCH_POS, "head_index", "d_head"), "Pattern-weighted values, per head.", "attn"),
    HookSpec("blocks.{layer}.attn.hook_result", (*_BATCH_POS, "head_index", "d_model"), "Each head's output z @ W_O (cfg.use_attn_result).", "attn", "use_attn_result"),
    HookSpec("blocks.{layer}.ln1_post.hook_scale", (*_BATCH_POS, "1"), "Post-attention norm scale (Gemma 2/3).", "ln"),
    HookSpec("blocks.{layer}.ln1_post.hook_normalized", (*_BATCH_POS, "d_model"), "Normalized attention output (Gemma 2/3), = hook_attn_out.", "ln"),
    HookSpec("blocks.{layer}.hook_attn_out", (*_BATCH_POS, "d_model"), "Attention layer output (sum over heads + b_O).", "attn"),
    HookSpec("blocks.{layer}.hook_resid_mid", (*_BATCH_POS, "d_model"), "Residual stream between attention and MLP.", "resid"),
    HookSpec("blocks.{layer}.ln2.hook_scale", (*_BATCH_POS, "1"), "LayerNorm scale (std) before the MLP.", "ln"),
    HookSpec("blocks.{layer}.ln2.hook_normalized", (*_BATCH_POS, "d_model"), "Normalized input to the MLP, before the norm's w and b.", "ln"),
    HookSpec("blocks.{layer}.hook_mlp_in", (*_BATCH_POS, "d_model"), "MLP input (cfg.use_hook_mlp_in).", "mlp", "use_hook_mlp_in"),
    HookSpec("blocks.{layer}.mlp.hook_pre", (*_BATCH_POS, "d_mlp"), "MLP pre-activations.", "mlp"),
    HookSpec("blocks.{layer}.mlp.hook_pre_linear", (*_BATCH_POS, "d_mlp"), "Linear branch of a gated MLP.", "mlp"),
    HookSpec("blocks.{layer}.mlp.hook_mid", (*_BATCH_POS, "d_mlp"), "SoLU activations before their LayerNorm.", "mlp"),
    HookSpec("blocks.{layer}.mlp.hook_post", (*_BATCH_POS, "d_mlp"), "MLP activations (neurons).", "mlp"),
    HookSpec("blocks.{layer}.ln2_post.hook_scale", (*_BATCH_POS, "1"), "Post-MLP norm scale (Gemma 2/3).", "ln"),
    HookSpec("blocks.{layer}.ln2_post.hook_normalized", (*_BATCH_POS, "d_model"), "Normalized MLP output (Gemma 2/3), = hook_mlp_out.", "ln"),
    HookSpec("blocks.{layer}.hook_mlp_out", (*_BATCH_POS, "d_model"), "MLP layer output.", "mlp"),
    HookSpec("blocks.{layer}.hook_resid_post", (*_BATCH_POS, "d_model"), "Residual stream leaving the block.", "resid"),
    HookSpec("ln_final.hook_scale", (*_BATCH_POS, "1"), "Final LayerNorm scale (std).", "final"),
    HookSpec("ln_final.hook_normalized", (*_BATCH_POS, "d_model"), "Normalized final residual stream, before the norm's w and b.", "final"),
)

# HookedEncoder (BERT) only: embedding parts, the post-LN block output and the MLM head's norm.
ENCODER_HOOK_SPECS: tuple[HookSpec, ...] = (
    HookSpec("embed.hook_embed", (*_BATCH_POS, "d_model"), "Token embeddings W_E[tokens] (encoder).", "embed"),
    HookSpec("embed.hook_pos_embed", (*_BATCH_POS, "d_model"), "Positional embeddings W_pos[pos] (encoder).", "embed"),
    HookSpec("embed.hook_token_type_embed", (*_BATCH_POS, "d_model"), "Token-type (segment) embeddings.", "embed"),
    HookSpec("embed.ln.hook_scale", (*_BATCH_POS, "1"), "Embedding LayerNorm scale (std).", "embed"),
    HookSpec("embed.ln.hook_normalized", (*_BATCH_POS, "d_model"), "Normalized sum of the embeddings, before the norm's w and b.", "embed"),
    HookSpec("hook_full_embed", (*_BATCH_POS, "d_model"), "Encoder input: LayerNorm of all embeddings.", "embed"),
    HookSpec("blocks.{layer}.hook_normalized_resid_post", (*_BATCH_POS, "d_model"), "Post-LN block output (ln2 of resid_post).", "resid"),
    HookSpec("mlm_head.ln.hook_scale", (*_BATCH_POS, "1"), "MLM head LayerNorm scale (std).", "final"),
    HookSpec("mlm_head.ln.hook_normalized", (*_BATCH_POS, "d_model"), "MLM head's normalized value, before the norm's w and b.", "final"),
    HookSpec("pooler.hook_pooler_out", ("batch", "d_model"), "Pooled [CLS] representation (tanh of a linear map).", "final"),
    HookSpec("nsp_head.hook_nsp_out", ("batch", "2"), "Next-sentence logits: 0 = B follows A, 1 = B is random.", "final"),
)

# Mixture-of-experts MLPs (Mixtral, OLMoE, gpt-oss); see docs/hooks.md.
_ROUTED = ("routed_tokens",)
FAMILY_HOOK_SPECS: tuple[HookSpec, ...] = (
    HookSpec("blocks.{layer}.mlp.hook_router_logits", (*_BATCH_POS, "num_experts"), "Router logits, one per expert.", "mlp"),
    HookSpec("blocks.{layer}.mlp.hook_expert_indices", (*_BATCH_POS, "experts_per_token"), "The experts chosen for each token.", "mlp"),
    HookSpec("blocks.{layer}.mlp.hook_expert_weights", (*_BATCH_POS, "experts_per_token"), "The chosen experts' weights.", "mlp"),
    HookSpec("blocks.{layer}.mlp.experts.{expert}.hook_gate", (*_ROUTED, "d_mlp"), "Expert gate pre-activations (tokens routed to it).", "mlp"),
    HookSpec("blocks.{layer}.mlp.experts.{expert}.hook_pre", (*_ROUTED, "d_mlp"), "Expert linear branch (tokens routed to it).", "mlp"),
    HookSpec("blocks.{layer}.mlp.experts.{expert}.hook_post", (*_ROUTED, "d_mlp"), "Expert activations (tokens routed to it).", "mlp"),
    HookSpec("blocks.{layer}.mlp.experts.{expert}.hook_out", (*_ROUTED, "d_model"), "Expert output before its routing weight.", "mlp"),
)


def _encoder_decoder_specs() -> tuple[HookSpec, ...]:
    """HookedEncoderDecoder (T5): the block hooks under ``encoder.{layer}`` and ``decoder.{layer}``, plus cross-attention."""
    specs = []
    for spec in HOOK_SPECS:
        if spec.template.startswith("blocks.{layer}."):
            rest = spec.template.removeprefix("blocks.")
            specs.append(HookSpec("encoder." + rest, spec.shape, spec.description, spec.component, spec.enabled_by))
            description = "Normalized input to cross-attention." if rest == "{layer}.ln2.hook_normalized" else spec.description
            specs.append(HookSpec("decoder." + rest, spec.shape, description, spec.component, spec.enabled_by))
            if rest.startswith("{layer}.attn."):
                cross = rest.replace(".attn.", ".cross_attn.")
                specs.append(HookSpec("decoder." + cross, spec.shape, "Cross-attention: " + spec.description, spec.component, spec.enabled_by))
    bias_shape = ("1", "head_index", "query_pos", "key_pos")
    return (
        *specs,
        HookSpec("encoder.{layer}.attn.rel_pos_hook", bias_shape, "Relative position bias added to every encoder layer's scores.", "attn"),
        HookSpec("decoder.{layer}.attn.rel_pos_hook", bias_shape, "Relative position bias added to every decoder layer's scores.", "attn"),
        HookSpec("decoder.{layer}.hook_cross_attn_out", (*_BATCH_POS, "d_model"), "Cross-attention output (over the encoder).", "attn"),
        HookSpec("decoder.{layer}.hook_resid_mid_cross", (*_BATCH_POS, "d_model"), "Residual stream after cross-attention.", "resid"),
        HookSpec("decoder.{layer}.ln3.hook_scale", (*_BATCH_POS, "1"), "RMSNorm scale before the MLP.", "ln"),
        HookSpec("decoder.{layer}.ln3.hook_normalized", (*_BATCH_POS, "d_model"), "Normalized input to the MLP.", "ln"),
        HookSpec("hook_decoder_embed", (*_BATCH_POS, "d_model"), "Decoder token embeddings W_E[decoder tokens].", "embed"),
        HookSpec("encoder_final_ln.hook_scale", (*_BATCH_POS, "1"), "Encoder's final RMSNorm scale.", "final"),
        HookSpec("encoder_final_ln.hook_normalized", (*_BATCH_POS, "d_model"), "Encoder output before the final norm's weight (cross-attention reads it times w).", "final"),
        HookSpec("decoder_final_ln.hook_scale", (*_BATCH_POS, "1"), "Decoder's final RMSNorm scale.", "final"),
        HookSpec("decoder_final_ln.hook_normalized", (*_BATCH_POS, "d_model"), "Normalized decoder output, before the final norm's weight.", "final"),
    )


ENCODER_DECODER_HOOK_SPECS: tuple[HookSpec, ...] = _encoder_decoder_specs()

_LAYER_RE = re.compile(r"^(blocks|encoder|decoder)\.(\d+)\.")
_EXPERT_RE = re.compile(r"\.experts\.\d+\.")


def spec_for(name: str) -> Optional[HookSpec]:
    """The table entry for a concrete hook name such as ``blocks.3.attn.hook_q``."""
    template = _EXPERT_RE.sub(".experts.{expert}.", _LAYER_RE.sub(lambda match: f"{match.group(1)}.{{layer}}.", name))
    return _SPEC_BY_TEMPLATE.get(template)


# Upstream's switch for each flag (HookSwitchesMixin); hook_tokens is set at construction.
_SWITCHES = {
    "use_attn_result": "model.set_use_attn_result(True)",
    "use_split_qkv_input": "model.set_use_split_qkv_input(True)",
    "use_attn_in": "model.set_use_attn_in(True)",
    "use_hook_mlp_in": "model.set_use_hook_mlp_in(True)",
    "use_hook_tokens": "use_hook_tokens=True in the config",
}


# OLMo 2/3 and OLMoE normalise q and k over the whole projection (cfg.qk_norm_over_all_heads), as upstream:
# those norms' hooks see the flat projection, not one row per head.
_FLAT_QK_NORM_SHAPES = {"hook_scale": (*_BATCH_POS, "1"), "hook_normalized": (*_BATCH_POS, "head_index*d_head")}


def hook_shape(name: str, cfg: Any = None) -> tuple[str, ...]:
    """The symbolic shape of hook ``name`` on a model with ``cfg`` (the table's, per-family where it differs)."""
    spec = spec_for(name)
    if spec is None:
        return ()
    if getattr(cfg, "qk_norm_over_all_heads", False) and (".attn.q_norm." in name or ".attn.k_norm." in name):
        return _FLAT_QK_NORM_SHAPES["hook_" + spec.short_name]
    return spec.shape


def silent_reason(name: str, cfg: Any) -> Optional[str]:
    """Why hook point ``name`` never fires on a model with this ``cfg`` (None if it fires).

    Hook points exist on every model, as upstream, but some only fire when a config flag asks
    for them, and an attention-only model's MLP hooks never do.
    """
    spec = spec_for(name)
    if spec is None:
        return None
    if spec.component == "mlp" and getattr(cfg, "attn_only", False):
        return "never fires: this model is attention-only"
    if spec.enabled_by is not None and not getattr(cfg, spec.enabled_by, False):
        return f"fires only with cfg.{spec.enabled_by}: {_SWITCHES[spec.enabled_by]}"
    return None


def layer_of(name: str) -> Optional[int]:
    """Block index of a hook name, or None for model-level hooks."""
    match = _LAYER_RE.match(name)
    return int(match.group(2)) if match else None


_SPEC_BY_TEMPLATE = {spec.template: spec for spec in (*HOOK_SPECS, *ENCODER_HOOK_SPECS, *FAMILY_HOOK_SPECS, *ENCODER_DECODER_HOOK_SPECS)}

# Shorthands accepted by get_act_name, as upstream TransformerLens accepts them.
ACT_NAME_ALIASES = {
    "attn": "pattern",
    "attn_logits": "attn_scores",
    "key": "k",
    "query": "q",
    "value": "v",
    "mlp_pre": "pre",
    "mlp_mid": "mid",
    "mlp_post": "post",
}
LAYER_TYPE_ALIASES = {"a": "attn", "m": "mlp", "b": "", "block": "", "blocks": "", "attention": "attn"}
_ATTN_NAMES = ("k", "v", "q", "z", "rot_k", "rot_q", "result", "pattern", "attn_scores")
_MLP_NAMES = ("pre", "post", "mid", "pre_linear")
_LN_NAMES = ("scale", "normalized")
_COMPACT_RE = re.compile(r"^([a-z_]+?)(\d+)([a-z]\w*)?$")


def get_act_name(name: str, layer: Optional[Union[int, str]] = None, layer_type: Optional[str] = None) -> str:
    """Full hook name from a shorthand.

    ``get_act_name("resid_pre", 3) == "blocks.3.hook_resid_pre"``,
    ``get_act_name("pattern", 1) == "blocks.1.attn.hook_pattern"``,
    ``get_act_name("scale", 0, "ln1") == "blocks.0.ln1.hook_scale"``,
    ``get_act_name("k6a") == "blocks.6.attn.hook_k"``, ``get_act_name("embed") == "hook_embed"``.
    Full names pass through unchanged.
    """
    if ("." in name or name.startswith("hook_")) and layer is None and layer_type is None:
        return name
    compact = _COMPACT_RE.match(name)
    if compact is not None and layer is None:
        name, layer_digits, suffix = compact.groups()
        layer = int(layer_digits)
        layer_type = suffix or layer_type
    name = ACT_NAME_ALIASES.get(name, name)
    if name in _ATTN_NAMES:
        layer_type = "attn"
    elif name in _MLP_NAMES:
        layer_type = "mlp"
    elif layer_type in LAYER_TYPE_ALIASES:
        layer_type = LAYER_TYPE_ALIASES[layer_type]
    prefix = f"blocks.{layer}." if layer is not None else ""
    if layer_type:
        prefix += f"{layer_type}."
    full = f"{prefix}hook_{name}"
    if name in _LN_NAMES and layer is None:
        full = f"ln_final.{full}"
    return full


def closest_names(name: str, valid: Iterable[str], n: int = 3) -> list[str]:
    """Valid hook names most similar to ``name``, for error messages."""
    return difflib.get_close_matches(name, list(valid), n=n, cutoff=0.5)


def unknown_hook_message(name: str, valid: Iterable[str]) -> str:
    close = closest_names(name, valid)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return f"No hook point named {name!r}.{hint}"
