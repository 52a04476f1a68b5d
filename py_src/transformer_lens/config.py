"""HookedTransformerConfig: every architectural option of a hooked model, with derived fields."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field, fields
from typing import Any, Literal, Optional, Union, get_args

import torch

from transformer_lens.errors import CheckFailed

NormalizationType = Optional[Literal["LN", "LNPre", "RMS", "RMSPre"]]
ActFn = Literal[
    "relu", "gelu", "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "silu", "swish", "tanh", "quick_gelu", "relu2",
    "solu", "solu_ln", "gelu_ln", "xielu",
]  # fmt: skip
PositionalEmbeddingType = Literal["standard", "rotary", "shortformer", "alibi"]
AttentionDir = Literal["causal", "bidirectional"]

NORMALIZATION_TYPES: tuple = (*get_args(get_args(NormalizationType)[0]), None)
ACT_FNS: tuple = get_args(ActFn)
POSITIONAL_EMBEDDING_TYPES: tuple = get_args(PositionalEmbeddingType)
ATTENTION_DIRS: tuple = get_args(AttentionDir)
MOE_STYLES: tuple = ("mixtral", "gpt_oss")


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class HookedTransformerConfig:
    """Configuration of a HookedTransformer (field names and defaults follow TransformerLens 3.x).

    Derived on construction: ``n_heads`` (from ``d_model // d_head`` when -1), ``d_mlp``
    (4 * d_model unless attention-only), ``attn_scale`` (sqrt(d_head)), ``initializer_range``,
    ``d_vocab_out``, ``n_params`` and ``device``.
    """

    n_layers: int
    d_model: int
    n_ctx: int
    d_head: int
    model_name: str = "custom"
    n_heads: int = -1
    d_mlp: Optional[int] = None
    act_fn: Optional[str] = None
    d_vocab: int = -1
    eps: float = 1e-5
    use_attn_result: bool = False
    use_attn_scale: bool = True
    attn_scale: float = -1.0
    use_split_qkv_input: bool = False
    use_hook_mlp_in: bool = False
    use_attn_in: bool = False
    use_local_attn: bool = False
    ungroup_grouped_query_attention: bool = False
    original_architecture: Optional[str] = None
    from_checkpoint: bool = False
    checkpoint_index: Optional[int] = None
    checkpoint_label_type: Optional[str] = None
    checkpoint_value: Optional[int] = None
    tokenizer_name: Optional[str] = None
    window_size: Optional[int] = None
    attn_types: Optional[list] = None
    init_mode: str = "gpt2"
    normalization_type: Optional[str] = "LN"
    device: Optional[Union[str, torch.device]] = None
    n_devices: int = 1
    # One device name per block (transformer_lens.device_map); sets n_devices to the distinct count.
    device_map: Optional[Any] = None
    attention_dir: str = "causal"
    attn_only: bool = False
    seed: Optional[int] = None
    initializer_range: float = -1.0
    init_weights: bool = True
    scale_attn_by_inverse_layer_idx: bool = False
    positional_embedding_type: str = "standard"
    final_rms: bool = False
    d_vocab_out: int = -1
    parallel_attn_mlp: bool = False
    rotary_dim: Optional[int] = None
    n_params: Optional[int] = None
    use_hook_tokens: bool = False
    gated_mlp: bool = False
    default_prepend_bos: bool = True
    dtype: torch.dtype = torch.float32
    tokenizer_prepends_bos: Optional[bool] = None
    n_key_value_heads: Optional[int] = None
    post_embedding_ln: bool = False
    rotary_base: float = 10000
    trust_remote_code: bool = False
    rotary_adjacent_pairs: bool = False
    load_in_4bit: bool = False
    num_experts: Optional[int] = None
    experts_per_token: Optional[int] = None
    tie_word_embeddings: bool = False
    use_normalization_before_and_after: bool = False
    attn_scores_soft_cap: float = -1.0
    output_logits_soft_cap: float = -1.0
    use_qk_norm: bool = False
    embedding_multiplier: float = 1.0
    partial_rotary_factor: Optional[float] = None
    tokenizer_padding_side: Literal["left", "right"] = "right"
    extra: dict = field(default_factory=dict, repr=False)
    # --- Dense decoder families (Gemma 2/3, Llama 3.x, Qwen 3, Phi, OLMo, Apertus). Upstream 3.x names:
    rotary_base_local: Optional[float] = None  # RoPE base of "local" layers (Gemma 3, OLMo 3)
    rotary_scaling_factor: float = 1.0  # linear RoPE scaling (positions / factor)
    use_NTK_by_parts_rope: bool = False  # Llama 3.1 "llama3" RoPE scaling
    NTK_by_parts_low_freq_factor: float = 1.0
    NTK_by_parts_high_freq_factor: float = 4.0
    NTK_by_parts_factor: float = 8.0
    NTK_original_ctx_len: int = 8192
    use_yarn_rope: bool = False
    yarn_factor: float = 1.0
    yarn_attention_factor: float = 1.0
    yarn_beta_fast: float = 32.0
    yarn_beta_slow: float = 1.0
    yarn_original_max_position_embeddings: int = 4096
    # Ours (upstream has no field for these; see docs/hooks.md "Per-family hook placement"):
    rotary_dynamic_ntk_factor: Optional[float] = None  # HF rope_type "dynamic": base grows past n_ctx
    yarn_truncate: bool = True  # HF yarn "truncate": round the correction range to whole dimensions
    rotary_longrope_short_factor: Optional[list] = None  # HF "longrope" (Phi-3): per-frequency divisors
    rotary_longrope_long_factor: Optional[list] = None  # used by rows longer than the original context
    rotary_longrope_original_ctx_len: Optional[int] = None
    rotary_attention_factor: float = 1.0  # longrope's scale on cos/sin
    clip_qkv: Optional[float] = None  # OLMo (1) 0424/1.7: q, k, v clamped to [-clip_qkv, clip_qkv]
    qk_norm_over_all_heads: bool = False  # OLMo 2/3: q/k norms span every head at once, not one head
    normalization_after_only: bool = False  # OLMo 2/3: ln1/ln2 normalise each sublayer's output
    # ---- Non-standard architectures (mixture of experts, ALiBi, post-LN, encoder-decoder) ----
    # Upstream TransformerLens 3.x names:
    norm_topk_prob: bool = False  # renormalise the chosen experts' weights to sum to 1 (Mixtral: True)
    relative_attention_max_distance: Optional[int] = None  # T5 relative position buckets
    relative_attention_num_buckets: Optional[int] = None
    decoder_start_token_id: Optional[int] = None  # first decoder token of an encoder-decoder model
    # LensLab's own (upstream has no field for these):
    moe_style: str = "mixtral"  # "mixtral": softmax, top-k, SwiGLU experts; "gpt_oss": top-k, softmax, clamped biased GLU
    use_attention_sinks: bool = False  # gpt-oss: one learned logit per head competes in every softmax
    post_layer_norm: bool = False  # OPT-350m: ln1/ln2 follow attention/MLP (resid = ln(resid + out))

    # Not a field: TransformerLensConfig (upstream's MLP-less base) turns the act_fn check off.
    _requires_act_fn = True

    def __post_init__(self) -> None:
        _check_choice("normalization_type", self.normalization_type, NORMALIZATION_TYPES)
        _check_choice("positional_embedding_type", self.positional_embedding_type, POSITIONAL_EMBEDDING_TYPES)
        _check_choice("attention_dir", self.attention_dir, ATTENTION_DIRS)
        if self.n_heads == -1:
            self.n_heads = self.d_model // self.d_head
            if self.d_model % self.d_head != 0:
                raise ValueError(f"d_model ({self.d_model}) is not a multiple of d_head ({self.d_head}); set n_heads")
        if not self.attn_only:
            if self.d_mlp is None:
                self.d_mlp = self.d_model * 4
            if self.act_fn is None and self._requires_act_fn:
                raise CheckFailed("act_fn must be specified for non-attn-only models (e.g. act_fn='gelu_new')")
            if self.act_fn is not None:
                _check_choice("act_fn", self.act_fn, ACT_FNS)
        if self.use_attn_scale and self.attn_scale == -1.0:
            self.attn_scale = math.sqrt(self.d_head)
        if self.initializer_range < 0:
            self.initializer_range = 0.8 / math.sqrt(self.d_model)
        if self.d_vocab_out == -1:
            self.d_vocab_out = self.d_vocab
        if self.positional_embedding_type == "rotary" and self.rotary_dim is None:
            self.rotary_dim = self.d_head
        if self.use_local_attn and (self.window_size is None or self.attn_types is None):
            raise CheckFailed("use_local_attn needs window_size and attn_types")
        if self.n_key_value_heads is not None and self.n_heads % self.n_key_value_heads != 0:
            raise ValueError(
                f"n_heads ({self.n_heads}) must be a multiple of n_key_value_heads ({self.n_key_value_heads})"
            )
        if (self.num_experts is None) != (self.experts_per_token is None):
            raise ValueError("num_experts and experts_per_token must be set together (mixture-of-experts MLP)")
        if self.num_experts is not None and not 0 < self.experts_per_token <= self.num_experts:
            raise ValueError(f"experts_per_token must lie in [1, num_experts={self.num_experts}], got {self.experts_per_token}")
        _check_choice("moe_style", self.moe_style, MOE_STYLES)
        if self.post_layer_norm and self.parallel_attn_mlp:
            raise ValueError("post_layer_norm (OPT-350m's post-LN) cannot be combined with parallel_attn_mlp")
        if self.device_map is not None:
            self._resolve_device_map()
        if self.device is None:
            self.device = default_device()
        if isinstance(self.dtype, str):
            self.dtype = getattr(torch, self.dtype)
        self.n_params = self._count_params()

    def _resolve_device_map(self) -> None:
        """``device_map`` as one device name per block; ``device`` becomes block 0's, ``n_devices`` the distinct count."""
        from transformer_lens.device_map import resolve_device_map

        self.device_map = resolve_device_map(self.device_map, self.n_layers)
        first = self.device_map[0]
        given, wanted = (torch.device(self.device) if self.device is not None else None), torch.device(first)
        if given is not None and (given.type, given.index or 0) != (wanted.type, wanted.index or 0):
            raise ValueError(f"device={str(self.device)!r} but device_map puts block 0 on {first!r}: give one or the other")
        distinct = len(dict.fromkeys(self.device_map))
        if self.n_devices not in (1, distinct):
            raise ValueError(f"n_devices={self.n_devices} but device_map uses {distinct} devices: give one or the other")
        self.device, self.n_devices = first, distinct

    def _count_params(self) -> int:
        """Parameters in attention and MLP weights (not embeddings), as upstream counts them."""
        kv_heads = self.n_key_value_heads or self.n_heads
        attn = self.d_model * self.d_head * (2 * self.n_heads + 2 * kv_heads)
        mlp = 0 if self.attn_only else self.d_model * (self.d_mlp or 0) * (3 if self.gated_mlp else 2)
        if self.num_experts and not self.attn_only:  # every expert plus its router column, as upstream
            mlp = (mlp + self.d_model) * self.num_experts
        return self.n_layers * (attn + mlp)

    @classmethod
    def unwrap(cls, config: Union[dict, "HookedTransformerConfig"]) -> "HookedTransformerConfig":
        return cls.from_dict(config) if isinstance(config, dict) else config

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any]) -> "HookedTransformerConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(config_dict) - known)
        if unknown:
            raise TypeError(f"HookedTransformerConfig got unexpected field(s): {', '.join(unknown)}")
        return cls(**config_dict)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def is_layer_norm_activation(self) -> bool:
        """Whether the MLP activation is followed by a layer norm (``act_fn`` ending in ``_ln``, e.g. ``solu_ln``)."""
        return self.act_fn is not None and self.act_fn.endswith("_ln")

    def set_seed_everywhere(self, seed: int) -> None:
        """Seed torch, numpy and Python's ``random`` with ``seed``."""
        import random

        import numpy as np

        torch.manual_seed(seed)
        np.random.seed(seed)
        random.seed(seed)

    def __repr__(self) -> str:
        body = ",\n".join(f"  {k}={v!r}" for k, v in self.to_dict().items() if k != "extra")
        return f"HookedTransformerConfig(\n{body})"


def _check_choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise CheckFailed(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")


class _AnyConfig(type):
    """Every HookedTransformerConfig counts as a TransformerLensConfig (upstream's base class)."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, HookedTransformerConfig)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, HookedTransformerConfig)


@dataclass
class TransformerLensConfig(HookedTransformerConfig, metaclass=_AnyConfig):
    """Upstream 3.x's base config: the same fields, but ``act_fn`` is not required.

    Upstream uses it where no MLP is built (key/value caches, weight processing). LensLab has one
    config class; this subclass only drops the ``act_fn`` check, and any HookedTransformerConfig
    passes ``isinstance(cfg, TransformerLensConfig)``, as it does upstream. A model built from one
    with MLPs still needs an ``act_fn`` (its MLP says so).
    """

    _requires_act_fn = False

# Upstream 3.x imports these from ``transformer_lens.config.hooked_transformer_config`` and
# ``...transformer_lens_config`` (modules of a package there). Both dotted paths name this same module.
sys.modules[f"{__name__}.hooked_transformer_config"] = sys.modules[__name__]
sys.modules[f"{__name__}.transformer_lens_config"] = sys.modules[__name__]


def __getattr__(name: str) -> Any:
    if name == "TransformerBridgeConfig":
        from transformer_lens._not_provided import not_provided

        raise not_provided(f"transformer_lens.config.{name}", "TransformerBridge is not part of LensLab; use HookedTransformerConfig")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
