"""Weight processing on TransformerLens state dicts: pure functions, family-agnostic.

Each step leaves the model's log-probabilities unchanged (``center_unembed`` shifts all
logits of a position by one constant), while making weights easier to interpret.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from typing import Callable, Iterator, Optional

import torch

from transformer_lens._not_provided import NotProvidedError
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.errors import CheckFailed

StateDict = dict[str, torch.Tensor]
logger = logging.getLogger(__name__)

# Where processing puts the weights it writes. By default new memory; a load may hand memory
# whose pages are already touched (loading/weight_memory.py): ``memory(like, dtype)`` gives a
# tensor with ``like``'s shape and strides in ``dtype``, or None. A context variable, so that
# loads on other threads (the sidebar's worker) each keep their own.
WeightMemory = Callable[[torch.Tensor, torch.dtype], Optional[torch.Tensor]]
_weight_memory: contextvars.ContextVar[Optional[WeightMemory]] = contextvars.ContextVar("weight_memory", default=None)


@contextlib.contextmanager
def writing_weights_into(memory: Optional[WeightMemory]) -> Iterator[None]:
    """Within the block, weights that processing writes come from ``memory`` where it has them."""
    token = _weight_memory.set(memory)
    try:
        yield
    finally:
        _weight_memory.reset(token)


def _reserved(like: torch.Tensor, dtype: torch.dtype) -> Optional[torch.Tensor]:
    """Memory made ready for a weight computed from ``like`` (its shape and strides, ``dtype``), or None."""
    memory = _weight_memory.get()
    return memory(like, dtype) if memory is not None else None


_KV_NAMES = ("W_K", "b_K", "W_V", "b_V")


def normalize_kv_names(state_dict: StateDict, cfg: HookedTransformerConfig) -> StateDict:
    """Store K/V under the names the model's attention uses: ``_W_K`` with GQA, ``W_K`` otherwise.

    Checkpoints and converters may use either spelling; both hold one tensor per KV head.
    """
    grouped = cfg.n_key_value_heads is not None and cfg.n_key_value_heads != cfg.n_heads
    sd = {}
    for key, value in state_dict.items():
        prefix, _, leaf = key.rpartition(".")
        bare = leaf.lstrip("_")
        if prefix.endswith(".attn") and bare in _KV_NAMES:
            key = f"{prefix}.{'_' if grouped else ''}{bare}"
        sd[key] = value
    return sd


def layers_in(state_dict: StateDict, cfg: HookedTransformerConfig) -> list[int]:
    """The blocks whose tensors ``state_dict`` holds, in order.

    Every step below acts on one block at a time or on the tensors outside the blocks, so a
    state dict holding some blocks only (the streaming loader's chunks) is processed exactly as
    those blocks would be within the whole.
    """
    present = {int(key.split(".", 2)[1]) for key in state_dict if key.startswith("blocks.") and key.split(".", 2)[1].isdigit()}
    return [layer for layer in range(cfg.n_layers) if layer in present]


def _kv_names(state_dict: StateDict, layer: int, letter: str) -> tuple[str, str]:
    """Key/value weights are stored as ``_W_K`` (one per KV group) in our modules."""
    prefix = f"blocks.{layer}.attn."
    if f"{prefix}_W_{letter}" in state_dict:
        return f"{prefix}_W_{letter}", f"{prefix}_b_{letter}"
    return f"{prefix}W_{letter}", f"{prefix}b_{letter}"


def _fold_into(state_dict: StateDict, ln: str, weight_key: str, bias_key: str | None, center: bool, has_bias: bool) -> None:
    """Fold LayerNorm ``ln``'s scale (and bias) into a reading weight ``[..., d_model, out]``."""
    w_ln = state_dict[f"{ln}.w"]
    weight = state_dict[weight_key]
    if has_bias and bias_key is not None:
        b_ln = state_dict[f"{ln}.b"]
        state_dict[bias_key] = state_dict[bias_key] + (b_ln[:, None] * weight).sum(dim=-2)
    weight = weight * w_ln[:, None]
    if center:
        weight = weight - weight.mean(dim=-2, keepdim=True)
    state_dict[weight_key] = weight


def _mlp_readers(state_dict: StateDict, cfg: HookedTransformerConfig, layer: int) -> list[tuple[str, str | None]]:
    """(weight, bias) pairs that read ln2's output: the MLP's, or the router's and every expert's.

    The bias is None where the reader has none (a dense gated MLP's ``W_gate``; bias-free experts,
    whose models are never folded with a LayerNorm: see ``can_fold_ln``).
    """
    mlp = f"blocks.{layer}.mlp"
    if not cfg.num_experts:
        return [(f"{mlp}.W_in", f"{mlp}.b_in")] + ([(f"{mlp}.W_gate", None)] if cfg.gated_mlp else [])
    readers = [(f"{mlp}.W_gate", f"{mlp}.b_gate")]
    for expert in range(cfg.num_experts):
        readers += [(f"{mlp}.experts.{expert}.{w}", f"{mlp}.experts.{expert}.{b}") for w, b in (("W_in", "b_in"), ("W_gate", "b_gate"))]
    return [(weight, bias if bias in state_dict else None) for weight, bias in readers]


def fold_layer_norm(state_dict: StateDict, cfg: HookedTransformerConfig, fold_biases: bool = True, center_weights: bool = True) -> StateDict:
    """Fold every LayerNorm/RMSNorm weight into the weights reading from it."""
    sd = dict(state_dict)
    layer_norm = cfg.normalization_type == "LN"
    has_bias = layer_norm and fold_biases
    center = layer_norm and center_weights
    for layer in layers_in(sd, cfg):
        ln1 = f"blocks.{layer}.ln1"
        q_w, q_b = f"blocks.{layer}.attn.W_Q", f"blocks.{layer}.attn.b_Q"
        for weight_key, bias_key in ((q_w, q_b), _kv_names(sd, layer, "K"), _kv_names(sd, layer, "V")):
            _fold_into(sd, ln1, weight_key, bias_key, center, has_bias)
        _drop(sd, ln1)
        if not cfg.attn_only:
            ln2 = f"blocks.{layer}.ln2"
            for weight_key, bias_key in _mlp_readers(sd, cfg, layer):
                _fold_into(sd, ln2, weight_key, bias_key, center, has_bias and bias_key is not None)
            _drop(sd, ln2)
            mlp = f"blocks.{layer}.mlp"
            if f"{mlp}.ln.w" in sd:
                _fold_mlp_ln(sd, mlp, center, has_bias)
    if "ln_final.w" in sd:
        final_rms = cfg.final_rms and layer_norm  # an RMSNorm ln_final in a LayerNorm model: no bias, no centering
        _fold_into(sd, "ln_final", "unembed.W_U", "unembed.b_U", center and not final_rms, has_bias and not final_rms)
        _drop(sd, "ln_final")
    return sd


def can_fold_ln(cfg: HookedTransformerConfig) -> bool:
    """Whether ``fold_ln`` applies: learned pre-norms that a linear map reads (not OLMo 2's post-norms).

    A LayerNorm bias cannot fold into a gated MLP (StableLM): its gate has no bias to take it.
    Post-LN (OPT-350m) norms sit after a sublayer, so nothing linear reads them. A LayerNorm's
    bias cannot be folded into bias-free experts and routers either, so LayerNorm MoE models keep
    their norms (RMSNorm ones, every released MoE, fold). Shortformer models add positions after
    ``ln1``, so its output is not what the weights read (upstream skips folding them too).
    """
    if cfg.positional_embedding_type == "shortformer":
        return False
    if cfg.normalization_type == "LN" and (cfg.gated_mlp or cfg.num_experts):
        return False
    return cfg.normalization_type in ("LN", "RMS") and not cfg.normalization_after_only and not cfg.post_layer_norm


def _fold_mlp_ln(state_dict: StateDict, mlp: str, center: bool, has_bias: bool) -> None:
    """Fold the LayerNorm inside a SoLU MLP (over d_mlp) into ``W_out`` (which reads from it)."""
    _fold_into(state_dict, f"{mlp}.ln", f"{mlp}.W_out", f"{mlp}.b_out", center, has_bias)
    _drop(state_dict, f"{mlp}.ln")


def _drop(state_dict: StateDict, ln: str) -> None:
    state_dict.pop(f"{ln}.w", None)
    state_dict.pop(f"{ln}.b", None)


def center_writing_weights(state_dict: StateDict, cfg: HookedTransformerConfig) -> StateDict:
    """Remove the mean over d_model from every weight that writes to the residual stream.

    The following LayerNorm subtracts that mean anyway, so outputs are unchanged.
    """
    sd = dict(state_dict)

    def center(key: str) -> None:
        if key in sd:
            sd[key] = sd[key] - sd[key].mean(dim=-1, keepdim=True)

    center("embed.W_E")
    if cfg.positional_embedding_type != "rotary":  # a rotary model's stray W_pos is never added to the stream
        center("pos_embed.W_pos")
    for layer in layers_in(sd, cfg):
        center(f"blocks.{layer}.attn.W_O")
        center(f"blocks.{layer}.attn.b_O")
        if not cfg.attn_only:
            center(f"blocks.{layer}.mlp.W_out")
            center(f"blocks.{layer}.mlp.b_out")
            for expert in range(cfg.num_experts or 0):
                center(f"blocks.{layer}.mlp.experts.{expert}.W_out")
                center(f"blocks.{layer}.mlp.experts.{expert}.b_out")
    return sd


def center_unembed(state_dict: StateDict) -> StateDict:
    """Make every residual direction's logits sum to zero (softmax is shift-invariant)."""
    sd = dict(state_dict)
    if "unembed.W_U" in sd:
        sd["unembed.W_U"] = sd["unembed.W_U"] - sd["unembed.W_U"].mean(dim=-1, keepdim=True)
        sd["unembed.b_U"] = sd["unembed.b_U"] - sd["unembed.b_U"].mean()
    return sd


def fold_value_biases(state_dict: StateDict, cfg: HookedTransformerConfig) -> StateDict:
    """Move b_V into b_O: patterns sum to 1, so each head adds exactly ``b_V @ W_O``."""
    sd = dict(state_dict)
    for layer in layers_in(sd, cfg):
        _, b_v_key = _kv_names(sd, layer, "V")
        b_v = sd[b_v_key]
        w_o = sd[f"blocks.{layer}.attn.W_O"]
        groups = w_o.shape[0] // b_v.shape[0]
        per_head_b_v = b_v.repeat_interleave(groups, dim=0) if groups > 1 else b_v
        sd[f"blocks.{layer}.attn.b_O"] = sd[f"blocks.{layer}.attn.b_O"] + torch.einsum("hd,hdm->m", per_head_b_v, w_o)
        sd[b_v_key] = torch.zeros_like(b_v)
    return sd


def refactor_factored_attn_matrices(state_dict: StateDict, cfg: HookedTransformerConfig) -> StateDict:
    """Rewrite each head's W_Q/W_K and W_V/W_O so the factors are balanced (SVD), keeping QK and OV.

    Biases are folded into the factors first (as an extra input dimension), matching upstream.
    """
    if cfg.n_key_value_heads is not None and cfg.n_key_value_heads != cfg.n_heads:
        raise ValueError("refactor_factored_attn_matrices does not support grouped-query attention")
    if cfg.positional_embedding_type == "rotary":
        # Rotary embeddings turn W_Q/W_K into position-dependent maps, so QK has no single factoring.
        raise CheckFailed("You can't refactor the QK circuit when using rotary embeddings (refactor_factored_attn_matrices)")
    sd = dict(state_dict)
    for layer in layers_in(sd, cfg):
        prefix = f"blocks.{layer}.attn."
        k_w, k_b = _kv_names(sd, layer, "K")
        v_w, v_b = _kv_names(sd, layer, "V")
        w_q = torch.cat([sd[prefix + "W_Q"], sd[prefix + "b_Q"][:, None, :]], dim=1)
        w_k = torch.cat([sd[k_w], sd[k_b][:, None, :]], dim=1)
        qk = w_q @ w_k.transpose(-1, -2)
        u, s, vh = torch.linalg.svd(qk)
        u, s, vh = u[..., : cfg.d_head], s[..., : cfg.d_head], vh[..., : cfg.d_head, :]
        root = s.sqrt()[:, None, :]
        new_q, new_k = u * root, vh.transpose(-1, -2) * root
        sd[prefix + "W_Q"], sd[prefix + "b_Q"] = new_q[:, :-1], new_q[:, -1]
        sd[k_w], sd[k_b] = new_k[:, :-1], new_k[:, -1]

        w_v, w_o = sd[v_w], sd[prefix + "W_O"]
        b_v = sd[v_b]
        sd[prefix + "b_O"] = sd[prefix + "b_O"] + torch.einsum("hd,hdm->m", b_v, w_o)
        u, s, vh = torch.linalg.svd(w_v @ w_o)
        u, s, vh = u[..., : cfg.d_head], s[..., : cfg.d_head], vh[..., : cfg.d_head, :]
        root = s.sqrt()
        sd[v_w] = u * root[:, None, :]
        sd[prefix + "W_O"] = vh * root[:, :, None]
        sd[v_b] = torch.zeros_like(b_v)
    return sd


_center_writing = center_writing_weights
_center_unembed = center_unembed
_fold_value_biases = fold_value_biases
_refactor = refactor_factored_attn_matrices


def _cast(tensor: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``tensor.float().to(dtype)`` in one step where that is exact (all but float64 sources)."""
    if not tensor.is_floating_point():
        return tensor
    return tensor.float().to(dtype) if tensor.dtype == torch.float64 else tensor.to(dtype)


def applicable_steps(
    cfg: HookedTransformerConfig, fold_ln: bool, center_writing_weights: bool, center_unembed: bool
) -> tuple[bool, bool, bool]:
    """``fold_ln``, ``center_writing_weights``, ``center_unembed`` less what the model cannot take (warned)."""
    if cfg.positional_embedding_type == "shortformer" and (fold_ln or center_writing_weights or center_unembed):
        logger.warning("fold_ln, center_writing_weights and center_unembed do not apply to shortformer models: skipped")
        return False, False, False
    return fold_ln, center_writing_weights, center_unembed


def _untouched_by(steps: dict[str, bool], state_dict: StateDict) -> StateDict:
    """The tensors no active step reads or writes, which need no float32 copy: the embeddings and
    the MLP output weights when nothing centres the writing weights (RMSNorm models), unless a
    SoLU MLP's own LayerNorm is folded into ``W_out``.
    """
    if steps["center_writing_weights"]:
        return {}
    untouched = {k: v for k, v in state_dict.items() if k in ("embed.W_E", "pos_embed.W_pos")}
    for key, value in state_dict.items():
        prefix, _, leaf = key.rpartition(".")
        mlp = prefix.split(".experts.")[0]
        if leaf in ("W_out", "b_out") and ".mlp" in prefix and f"{mlp}.ln.w" not in state_dict:
            untouched[key] = value
    return untouched


def process_state_dict(
    state_dict: StateDict,
    cfg: HookedTransformerConfig,
    fold_ln: bool = True,
    center_writing_weights: bool = True,
    center_unembed: bool = True,
    fold_value_biases: bool = True,
    refactor_factored_attn_matrices: bool = False,
) -> StateDict:
    """Apply the requested steps in upstream's order; a step is skipped where it would change the outputs.

    Centering needs LayerNorm (and sublayers that write straight into the residual stream, not
    into a post-norm); ``fold_ln`` needs norms that precede the weights reading them (not OLMo 2's);
    ``center_unembed`` needs shift-invariant outputs (not Gemma 2's soft-capped logits).

    Shortformer models add positions after ``ln1``, so folding it, centering the writing weights
    (``W_pos`` included) or the unembedding are skipped for them, as upstream does.
    """
    fold_ln, center_writing_weights, center_unembed = applicable_steps(cfg, fold_ln, center_writing_weights, center_unembed)
    layer_norm = cfg.normalization_type in ("LN", "LNPre")
    # Post-norms (Gemma 2, OLMo 2, OPT-350m's post-LN) mean sublayers do not write straight into a
    # stream that a LayerNorm reads, so centering what writes to it would change the output.
    post_norms = cfg.use_normalization_before_and_after or cfg.normalization_after_only or cfg.post_layer_norm
    steps = {
        "fold_ln": fold_ln and can_fold_ln(cfg),
        "center_writing_weights": center_writing_weights and layer_norm and not cfg.final_rms and not post_norms,
        "center_unembed": center_unembed and cfg.output_logits_soft_cap <= 0,
        # With attention sinks the pattern sums to less than 1, so b_V cannot move into b_O.
        "fold_value_biases": fold_value_biases and not cfg.use_attention_sinks,
        "refactor_factored_attn_matrices": refactor_factored_attn_matrices,
    }
    sd = normalize_kv_names(state_dict, cfg)
    if not any(steps.values()):  # a plain cast: the same bits as through float32, without the copy
        return {k: _final(v, cfg.dtype) for k, v in sd.items()}
    if _scaling_only(steps, cfg, sd):
        return _process_by_scaling(sd, cfg, steps)
    untouched = _untouched_by(steps, sd)
    sd = {k: v.float() if v.is_floating_point() else v for k, v in sd.items() if k not in untouched}
    if steps["fold_ln"]:
        sd = fold_layer_norm(sd, cfg, fold_biases=True, center_weights=layer_norm)
    if steps["center_writing_weights"]:
        sd = _center_writing(sd, cfg)
    if steps["center_unembed"]:
        sd = _center_unembed(sd)
    if steps["fold_value_biases"]:
        sd = _fold_value_biases(sd, cfg)
    sd.update({k: _cast(v, cfg.dtype) for k, v in untouched.items()})  # refactoring reads none of them
    if refactor_factored_attn_matrices:
        sd = _refactor(sd, cfg)
    return {k: _final(v, cfg.dtype) for k, v in sd.items()}


def _final(tensor: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``_cast(tensor, dtype)`` in the tensor's own layout: no copy where it already has that dtype.

    A weight keeps the layout its checkpoint gave it (a per-head view of a Hugging Face
    ``[out, in]`` matrix, say): the forward's matmuls take transposed operands as they are, and
    copying 10^9 elements into another layout would cost most of a load. A cast of a dense tensor
    keeps its strides (and is done in memory order). Only a tensor that repeats elements
    (an ``expand``) is copied, since a parameter must own each element.
    """
    if any(stride == 0 and size > 1 for size, stride in zip(tensor.shape, tensor.stride())):
        tensor = tensor.contiguous()
    if not tensor.is_floating_point():
        return tensor
    if tensor.dtype == torch.float64 and dtype != torch.float64:
        tensor = tensor.float()  # through float32, as _cast
    if tensor.dtype == dtype:
        return tensor
    out = _reserved(tensor, dtype)
    return tensor.to(dtype) if out is None else out.copy_(tensor)


# Processing by scaling: for RMSNorm models (and any model whose norms are not folded) every
# active step is a per-element product or a per-row shift, so each weight can be produced in its
# final dtype and layout straight from the checkpoint's tensor, in float32 only where a step
# needs it and one row block at a time, with the same float32 arithmetic as the steps above (so
# the same bits; tests/transformer_lens/loading/test_streaming.py compares them).


def _scaling_only(steps: dict[str, bool], cfg: HookedTransformerConfig, sd: StateDict) -> bool:
    """Whether the active steps are RMSNorm folding (a scale per input row), centring the unembedding
    and moving value biases into ``b_O``: nothing that centres other weights or refactors them."""
    if steps["center_writing_weights"] or steps["refactor_factored_attn_matrices"]:
        return False
    if steps["fold_ln"] and cfg.normalization_type != "RMS":
        return False
    return not any(v.dtype == torch.float64 or key.endswith(".mlp.ln.w") for key, v in sd.items())


def _rms_fold_scales(sd: StateDict, cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    """``fold_layer_norm`` for RMSNorm as data: each reading weight's row scale; the norms leave ``sd``."""
    scales: dict[str, torch.Tensor] = {}

    def fold(ln: str, weight_key: str) -> None:
        sd[weight_key]  # a missing reader fails as in fold_layer_norm
        scales[weight_key] = sd[f"{ln}.w"]

    for layer in layers_in(sd, cfg):
        ln1 = f"blocks.{layer}.ln1"
        for weight_key in (f"blocks.{layer}.attn.W_Q", _kv_names(sd, layer, "K")[0], _kv_names(sd, layer, "V")[0]):
            fold(ln1, weight_key)
        _drop(sd, ln1)
        if not cfg.attn_only:
            ln2 = f"blocks.{layer}.ln2"
            for weight_key, _ in _mlp_readers(sd, cfg, layer):
                fold(ln2, weight_key)
            _drop(sd, ln2)
    if "ln_final.w" in sd:
        fold("ln_final", "unembed.W_U")
        _drop(sd, "ln_final")
    return scales


def _scaled(weight: torch.Tensor, scale: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``(weight.float() * scale.float()[:, None]).to(dtype)`` as one new tensor in ``weight``'s layout.

    A product of two (b)float16 numbers is exact in float32, and torch computes it in float32 and
    rounds once, as the cast of the float32 product does; an upcast to float32 is exact.
    """
    out = _reserved(weight, dtype)
    if weight.dtype == dtype:
        factor = (scale if scale.dtype == dtype else scale.float())[:, None]
        return weight * factor if out is None else torch.mul(weight, factor, out=out)
    if dtype == torch.float32:
        return (weight.to(dtype) if out is None else out.copy_(weight)).mul_(scale.float()[:, None])
    product = weight.float() * scale.float()[:, None]
    return _final(product, dtype) if out is None else out.copy_(product)


# W_U is centred a block of d_model rows at a time through one reused float32 buffer of about this
# size. Blocks are whole multiples of 64 rows: torch reduces every row on its own, in groups of up to
# 64 rows (its widest vector width x 4), so such blocks give each row the whole tensor's bits
# (tests/transformer_lens/loading/test_streaming.py checks this at several thread counts).
UNEMBED_BLOCK_BYTES = 64 * 2**20
_UNEMBED_ROW_MULTIPLE = 64


def _centred_unembed(w_u: torch.Tensor, scale: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor:
    """``center_unembed`` of ``W_U`` (first scaled by ``ln_final``) in float32, with the whole tensor's bits.

    Each block's float32 copy has the relative layout ``W_U.float()`` has (with ``W_U`` a view of
    the ``[d_vocab, d_model]`` embedding, the vocabulary is the outer dimension), so each row's
    mean is summed in the same order. Blocks need ``UNEMBED_BLOCK_BYTES`` of float32 instead of a
    float32 copy of the whole matrix (1 GiB for Llama 3's), and a reused buffer costs no new
    pages. The result keeps ``w_u``'s layout.
    """
    d_model, d_vocab = w_u.shape
    rows = UNEMBED_BLOCK_BYTES // (4 * max(1, d_vocab))
    rows = min(d_model, max(_UNEMBED_ROW_MULTIPLE, rows - rows % _UNEMBED_ROW_MULTIPLE))
    vocab_outer = w_u.stride(0) < w_u.stride(1)
    buffer = torch.empty((d_vocab, rows) if vocab_outer else (rows, d_vocab), dtype=torch.float32, device=w_u.device)
    out = _reserved(w_u, dtype)
    out = torch.empty_like(w_u, dtype=dtype) if out is None else out
    for first in range(0, d_model, rows):
        block = w_u[first : first + rows]
        weight = buffer[:, : block.shape[0]].T if vocab_outer else buffer[: block.shape[0]]
        weight.copy_(block)
        if scale is not None:
            weight.mul_(scale[first : first + rows].float()[:, None])
        weight.sub_(weight.mean(dim=-1, keepdim=True))
        out[first : first + rows].copy_(weight)
    return out


def _process_by_scaling(sd: StateDict, cfg: HookedTransformerConfig, steps: dict[str, bool]) -> StateDict:
    dtype = cfg.dtype
    sd = dict(sd)
    scales = _rms_fold_scales(sd, cfg) if steps["fold_ln"] else {}
    out: StateDict = {}
    if steps["fold_value_biases"]:
        for layer in layers_in(sd, cfg):
            _, b_v_key = _kv_names(sd, layer, "V")
            b_o_key = f"blocks.{layer}.attn.b_O"
            b_v, w_o, b_o = sd[b_v_key], sd[f"blocks.{layer}.attn.W_O"], sd[b_o_key]
            # b_O + b_V @ W_O is b_O itself when b_V is zero, W_O finite (a finite sum says so) and b_O
            # has no -0.0 (+0.0 + -0.0 is +0.0).
            unchanged = not b_v.any() and not (torch.signbit(b_o) & (b_o == 0)).any() and bool(torch.isfinite(w_o.sum()))
            if not unchanged:
                groups = w_o.shape[0] // b_v.shape[0]
                per_head_b_v = b_v.float().repeat_interleave(groups, dim=0) if groups > 1 else b_v.float()
                out[b_o_key] = _final(b_o.float() + torch.einsum("hd,hdm->m", per_head_b_v, w_o.float()), dtype)
            out[b_v_key] = torch.zeros(b_v.shape, dtype=dtype, device=b_v.device)
    if steps["center_unembed"] and "unembed.W_U" in sd:
        out["unembed.W_U"] = _centred_unembed(sd["unembed.W_U"], scales.pop("unembed.W_U", None), dtype)
        b_u = sd["unembed.b_U"].float()
        out["unembed.b_U"] = _final(b_u - b_u.mean(), dtype)
    for key, value in sd.items():
        if key in out:
            continue
        out[key] = _scaled(value, scales[key], dtype) if key in scales else _final(value, dtype)
    return {key: out[key] for key in sd}


class ProcessWeights:
    """Upstream 3.x's name for these steps, as static methods on state dicts (``adapter`` is TransformerBridge's
    and must be None). Its per-tensor helpers and format conversions are not provided."""

    @staticmethod
    def _no_adapter(adapter: object) -> None:
        if adapter is not None:
            raise NotProvidedError("ProcessWeights with an architecture adapter (TransformerBridge) is not provided by LensLab")

    @staticmethod
    def _keep_identity_norms(before: StateDict, after: StateDict) -> StateDict:
        """Upstream's layout: a folded norm keeps its parameters, as ``w = 1`` and ``b = 0``.

        LensLab's own pipeline drops them (its folded models build norms without weights); code
        written against upstream's ``ProcessWeights`` finds them still there, now doing nothing.
        """
        for key, value in before.items():
            if key not in after and key.endswith((".w", ".b")) and _is_norm_key(key):
                after[key] = torch.ones_like(value) if key.endswith(".w") else torch.zeros_like(value)
        return after

    @staticmethod
    def fold_layer_norm(state_dict: StateDict, cfg: HookedTransformerConfig, fold_biases: bool = True, center_weights: bool = True, adapter: object = None) -> StateDict:
        ProcessWeights._no_adapter(adapter)
        return ProcessWeights._keep_identity_norms(state_dict, fold_layer_norm(state_dict, cfg, fold_biases, center_weights))

    @staticmethod
    def center_writing_weights(state_dict: StateDict, cfg: HookedTransformerConfig, adapter: object = None) -> StateDict:
        ProcessWeights._no_adapter(adapter)
        return _center_writing(state_dict, cfg)

    @staticmethod
    def center_unembed(state_dict: StateDict, adapter: object = None) -> StateDict:
        ProcessWeights._no_adapter(adapter)
        return _center_unembed(state_dict)

    @staticmethod
    def fold_value_biases(state_dict: StateDict, cfg: HookedTransformerConfig, adapter: object = None) -> StateDict:
        ProcessWeights._no_adapter(adapter)
        return _fold_value_biases(state_dict, cfg)

    @staticmethod
    def refactor_factored_attn_matrices(state_dict: StateDict, cfg: HookedTransformerConfig, adapter: object = None) -> StateDict:
        ProcessWeights._no_adapter(adapter)
        return _refactor(state_dict, cfg)

    @staticmethod
    def process_weights(
        state_dict: StateDict,
        cfg: HookedTransformerConfig,
        fold_ln: bool = True,
        center_writing_weights: bool = True,
        center_unembed: bool = True,
        fold_value_biases: bool = True,
        refactor_factored_attn_matrices: bool = False,
        adapter: object = None,
    ) -> StateDict:
        ProcessWeights._no_adapter(adapter)
        processed = process_state_dict(
            state_dict, cfg, fold_ln, center_writing_weights, center_unembed, fold_value_biases, refactor_factored_attn_matrices
        )
        return ProcessWeights._keep_identity_norms(state_dict, processed)


def _is_norm_key(key: str) -> bool:
    """``ln1``/``ln2``/``ln_final``/a SoLU MLP's ``mlp.ln`` parameter (the norms fold_layer_norm folds)."""
    module = key.rpartition(".")[0]
    return module == "ln_final" or module.endswith((".ln1", ".ln2", ".mlp.ln"))


def _left_out(name: str) -> staticmethod:
    def method(*args: object, **kwargs: object) -> None:
        raise NotProvidedError(
            f"ProcessWeights.{name} is not provided by LensLab: use the whole-state-dict steps "
            "(fold_layer_norm, center_writing_weights, ..., process_weights)"
        )

    method.__name__ = name
    return staticmethod(method)


for _name in (
    "fold_layer_norm_bias_single", "fold_layer_norm_weight_single", "center_weight_single", "fold_layer_norm_biases",
    "fold_layer_norm_weights", "center_attention_weights", "extract_attention_tensors_for_folding",
    "convert_tensor_to_tl_format", "convert_tensor_to_hf_format", "distribute_weights_to_components",
):  # fmt: skip
    setattr(ProcessWeights, _name, _left_out(_name))
