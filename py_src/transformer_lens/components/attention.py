"""Multi-head attention, shared by every architecture (GQA, local windows, KV cache).

Scores and patterns are only materialised when someone hooks them (or the config needs
them); otherwise torch's fused scaled_dot_product_attention runs, so users pay only for
the hooks they use.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from transformer_lens.components.exact import fused_value_explicit_grad, untouched, version_of
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.hook_points import HookPoint
from transformer_lens.kv_cache import KeyValueCacheEntry

if TYPE_CHECKING:
    from transformer_lens.factored_matrix import FactoredMatrix


class AbstractAttention(nn.Module):
    """What every attention layer shares: the per-head QK/OV circuits, and ALiBi's position biases.

    Upstream's name for the base of its attention classes; ``Attention`` is LensLab's one implementation.
    """

    W_Q: torch.Tensor
    W_K: torch.Tensor
    W_V: torch.Tensor
    W_O: torch.Tensor
    b_V: torch.Tensor

    @property
    def OV(self) -> "FactoredMatrix":
        """The per-head OV circuit ``W_V @ W_O``: ``"head_index d_model d_model"``, factored."""
        from transformer_lens.factored_matrix import FactoredMatrix

        return FactoredMatrix(self.W_V, self.W_O)

    @property
    def QK(self) -> "FactoredMatrix":
        """The per-head QK circuit ``W_Q @ W_K^T``: ``"head_index d_model d_model"``, factored."""
        from transformer_lens.factored_matrix import FactoredMatrix

        return FactoredMatrix(self.W_Q, self.W_K.transpose(-2, -1))

    @staticmethod
    def create_alibi_slope(n_ctx: int, device: Optional[Union[str, torch.device]] = None) -> torch.Tensor:
        """``"query_pos key_pos"``: ``min(key - query, 0)``, the (unscaled) ALiBi distance penalty."""
        positions = torch.arange(n_ctx, device=device, dtype=torch.float32)
        return (positions[None, :] - positions[:, None]).clamp(max=0)

    @staticmethod
    def create_alibi_multipliers(n_heads: int, device: Optional[Union[str, torch.device]] = None) -> torch.Tensor:
        """``"head_index"``: ALiBi's per-head slopes, ``2 ** (-8 (h + 1) / n_heads)``."""
        heads = torch.arange(1, n_heads + 1, device=device, dtype=torch.float32)
        return torch.pow(2.0, -8.0 * heads / n_heads)

    @staticmethod
    def create_alibi_bias(n_heads: int, n_ctx: int, device: Optional[Union[str, torch.device]] = None) -> torch.Tensor:
        """``"head_index query_pos key_pos"``: the ALiBi bias added to attention scores."""
        slope = AbstractAttention.create_alibi_slope(n_ctx, device)
        return AbstractAttention.create_alibi_multipliers(n_heads, device)[:, None, None] * slope


class Attention(AbstractAttention):
    def __init__(
        self,
        cfg: Union[HookedTransformerConfig, dict],
        attn_type: Optional[str] = None,
        layer_id: Optional[int] = None,
        causal: Optional[bool] = None,
    ) -> None:
        """``attn_type`` is "global" or "local" (default: ``cfg.attn_types[layer_id]``, else "global").

        ``causal`` overrides ``cfg.attention_dir`` (T5's decoder reads its encoder bidirectionally).
        """
        super().__init__()
        self.cfg = cfg = HookedTransformerConfig.unwrap(cfg)
        self.layer_id = layer_id
        layer_idx = self.layer_idx = layer_id or 0
        self.causal = cfg.attention_dir == "causal" if causal is None else causal
        n_heads, n_kv = cfg.n_heads, cfg.n_key_value_heads or cfg.n_heads
        self.W_Q = nn.Parameter(torch.empty(n_heads, cfg.d_model, cfg.d_head, dtype=cfg.dtype))
        self.b_Q = nn.Parameter(torch.zeros(n_heads, cfg.d_head, dtype=cfg.dtype))
        self._init_key_value(n_kv)
        self.W_O = nn.Parameter(torch.empty(n_heads, cfg.d_head, cfg.d_model, dtype=cfg.dtype))
        self.b_O = nn.Parameter(torch.zeros(cfg.d_model, dtype=cfg.dtype))
        self.repeat_kv = n_heads // n_kv
        if attn_type is None:
            attn_type = cfg.attn_types[layer_idx] if cfg.attn_types else "global"
        if attn_type not in ("global", "local"):
            raise ValueError(f"attn_type must be 'global' or 'local', got {attn_type!r}")
        self.attn_type = attn_type
        self.attn_scale = cfg.attn_scale if cfg.use_attn_scale else 1.0
        if cfg.scale_attn_by_inverse_layer_idx:
            self.attn_scale *= layer_idx + 1
        self.hook_q = HookPoint()  # [batch, pos, head_index, d_head]
        self.hook_k = HookPoint()  # [batch, pos, head_index, d_head]
        self.hook_v = HookPoint()  # [batch, pos, head_index, d_head]
        self.hook_z = HookPoint()  # [batch, pos, head_index, d_head]
        self.hook_attn_scores = HookPoint()  # [batch, head_index, query_pos, key_pos]
        self.hook_pattern = HookPoint()  # [batch, head_index, query_pos, key_pos]
        self.hook_result = HookPoint()  # [batch, pos, head_index, d_model]
        if cfg.use_qk_norm:
            from transformer_lens.components.norms import make_learned_norm

            # Per head (Gemma 3, Qwen 3) or over the whole projection (OLMo 2/3, OLMoE), as upstream names them.
            q_len = cfg.n_heads * cfg.d_head if cfg.qk_norm_over_all_heads else cfg.d_head
            k_len = n_kv * cfg.d_head if cfg.qk_norm_over_all_heads else cfg.d_head
            self.q_norm = make_learned_norm(cfg, q_len)
            self.k_norm = make_learned_norm(cfg, k_len)
        if cfg.positional_embedding_type == "rotary":
            from transformer_lens.components.rotary import Rotary

            self.rotary = Rotary(cfg, self.attn_type)
            self.hook_rot_q = HookPoint()  # [batch, pos, head_index, d_head]
            self.hook_rot_k = HookPoint()  # [batch, pos, head_index, d_head]
        if cfg.use_attention_sinks:
            self.sinks = nn.Parameter(torch.zeros(n_heads, dtype=cfg.dtype))  # one extra softmax logit per head
        if cfg.positional_embedding_type == "alibi":
            self.register_buffer("alibi_slopes", alibi_slopes(n_heads), persistent=False)
        self._fused_cache: Optional[tuple] = None

    _kv_prefix = ""  # GQA stores K/V per group under private names

    def _init_key_value(self, n_kv: int) -> None:
        cfg = self.cfg
        for name in ("W_K", "W_V"):
            setattr(self, self._kv_prefix + name, nn.Parameter(torch.empty(n_kv, cfg.d_model, cfg.d_head, dtype=cfg.dtype)))
        for name in ("b_K", "b_V"):
            setattr(self, self._kv_prefix + name, nn.Parameter(torch.zeros(n_kv, cfg.d_head, dtype=cfg.dtype)))

    def stored_key_value(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """K/V weights and biases as stored: one per key-value head (= per head without GQA)."""
        return self.W_K, self.b_K, self.W_V, self.b_V

    def _fused_qkv(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``[d_model, (n_heads + 2 n_kv) d_head]`` weight and bias for one matmul.

        Cached between no-grad calls and rebuilt when any source tensor changes
        (identity or in-place version), so weight edits are always seen.
        """
        w_k, b_k, w_v, b_v = self.stored_key_value()
        sources = (self.W_Q, w_k, w_v, self.b_Q, b_k, b_v)
        key = tuple((id(t), t._version) for t in sources)
        if self._fused_cache is not None and self._fused_cache[0] == key and not torch.is_grad_enabled():
            return self._fused_cache[1], self._fused_cache[2]
        pieces = [w.permute(1, 0, 2).reshape(self.cfg.d_model, -1) for w in sources[:3]]
        if all(piece.stride(0) == 1 for piece in pieces):
            # Weights in Hugging Face's [out, in] layout (views of q/k/v_proj): stack their rows, a
            # plain copy, and hand the matmul the transpose, as nn.Linear does.
            weight = torch.cat([piece.T for piece in pieces]).T
        else:
            weight = torch.cat(pieces, dim=1)
        bias = torch.cat([b.reshape(-1) for b in sources[3:]])
        if not torch.is_grad_enabled():
            self._fused_cache = (key, weight, bias)
        return weight, bias

    def _project(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """Per-head projection of a ``"batch pos head_index d_model"`` input."""
        return torch.einsum("bphm,hmd->bphd", x, weight) + bias

    def compute_qkv(self, query_input: torch.Tensor, key_input: torch.Tensor, value_input: torch.Tensor):
        batch, pos = query_input.shape[:2]
        w_k, b_k, w_v, b_v = self.stored_key_value()
        n_heads, n_kv, d_head = self.cfg.n_heads, w_k.shape[0], self.cfg.d_head
        if query_input.ndim == 3 and query_input is key_input and key_input is value_input:
            weight, bias = self._fused_qkv()
            qkv = torch.addmm(bias, query_input.reshape(-1, self.cfg.d_model), weight).view(batch, pos, -1)
            q, k, v = qkv.split([n_heads * d_head, n_kv * d_head, n_kv * d_head], dim=-1)
            return q.view(batch, pos, n_heads, d_head), k.view(batch, pos, n_kv, d_head), v.view(batch, pos, n_kv, d_head)
        if query_input.ndim == 3:
            project = lambda x, w, b: torch.einsum("bpm,hmd->bphd", x, w) + b  # noqa: E731
            return project(query_input, self.W_Q, self.b_Q), project(key_input, w_k, b_k), project(value_input, w_v, b_v)

        def project_kv(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            if x.shape[2] == w.shape[0]:  # one input per key/value head
                return self._project(x, w, b)
            # One input per query head (hook_attn_in, or ungrouped GQA): each head keeps its own
            # input, projected by its group's weights.
            return self._project(x, w.repeat_interleave(self.repeat_kv, 0), b.repeat_interleave(self.repeat_kv, 0))

        return (
            self._project(query_input, self.W_Q, self.b_Q),
            project_kv(key_input, w_k, b_k),
            project_kv(value_input, w_v, b_v),
        )

    def forward(
        self,
        query_input: torch.Tensor,
        key_input: torch.Tensor,
        value_input: torch.Tensor,
        past_kv_cache_entry: Optional[KeyValueCacheEntry] = None,
        additive_attention_mask: Optional[torch.Tensor] = None,
        attention_mask: Optional[torch.Tensor] = None,
        position_bias: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """``"batch pos d_model"`` (or per-head ``"batch pos head_index d_model"``) -> ``"batch pos d_model"``.

        ``attention_mask`` is ``"batch key_pos"`` with 1 for real tokens, covering cached positions too.
        ``position_bias`` (``"batch|1 head_index query_pos key_pos"``) is added to the scores (T5).
        ``additive_attention_mask`` (upstream's encoder form) is ``"batch 1 1 key_pos"``: 0 to attend, -inf not.
        """
        if additive_attention_mask is not None:
            attention_mask = key_mask_from_additive(additive_attention_mask, attention_mask)
        q, k, v = self.compute_qkv(query_input, key_input, value_input)
        if self.cfg.clip_qkv is not None:
            # OLMo clamps the projections themselves, so the hooks below see the clamped values.
            clip = self.cfg.clip_qkv
            q, k, v = q.clamp(-clip, clip), k.clamp(-clip, clip), v.clamp(-clip, clip)
        if self.repeat_kv > 1 and self.cfg.ungroup_grouped_query_attention and k.shape[2] != q.shape[2]:
            # Hooks then see (and can patch) one key/value per query head, as upstream does.
            k = k.repeat_interleave(self.repeat_kv, dim=2)
            v = v.repeat_interleave(self.repeat_kv, dim=2)
        q, k, v = self.hook_q(q), self.hook_k(k), self.hook_v(v)
        if self.cfg.use_qk_norm:
            # After hook_q/hook_k, as upstream: those hooks see the raw projections.
            q = self._qk_norm(q, self.q_norm, 1)
            k = self._qk_norm(k, self.k_norm, k.shape[2] // (self.cfg.n_key_value_heads or self.cfg.n_heads))
        past_len = 0
        if past_kv_cache_entry is not None:
            past_len = past_kv_cache_entry.past_keys.shape[1]
        if self.cfg.positional_embedding_type == "rotary":
            q = self.hook_rot_q(self.rotary(q, past_len, attention_mask))
            k = self.hook_rot_k(self.rotary(k, past_len, attention_mask))
        if past_kv_cache_entry is not None:
            k, v = past_kv_cache_entry.append(k, v)
        if k.shape[2] != q.shape[2]:
            k = k.repeat_interleave(self.repeat_kv, dim=2)
            v = v.repeat_interleave(self.repeat_kv, dim=2)
        mask = self._mask(q.shape[1], k.shape[1], attention_mask, q.device)
        if self.cfg.positional_embedding_type == "alibi":
            position_bias = self._alibi(k.shape[1], attention_mask, q.device)
        z = self.hook_z(self._attend(q, k, v, mask, position_bias, padded=attention_mask is not None))
        return self._output(z)

    def _qk_norm(self, x: torch.Tensor, norm: nn.Module, copies: int) -> torch.Tensor:
        """Normalise ``"batch pos head_index d_head"`` queries or keys per head or over all heads.

        ``copies`` > 1 when keys were ungrouped (one copy per query head): a norm over the whole
        key projection then reads one copy per group and is repeated again.
        """
        if not self.cfg.qk_norm_over_all_heads:
            return norm(x)
        if copies > 1:
            x = x[:, :, ::copies]
        batch, pos, heads, d_head = x.shape
        normed = norm(x.reshape(batch, pos, heads * d_head)).view(batch, pos, heads, d_head)
        return normed.repeat_interleave(copies, dim=2) if copies > 1 else normed

    def _alibi(self, k_len: int, attention_mask: Optional[torch.Tensor], device: torch.device) -> torch.Tensor:
        """BLOOM's ALiBi bias ``"batch|1 head_index 1 key_pos"``: slope times the key's position.

        Softmax ignores a per-query constant, so this equals upstream's ``-slope * distance``;
        positions count real tokens only, so padding changes nothing.
        """
        if attention_mask is None:
            positions = torch.arange(k_len, device=device, dtype=torch.float32)[None]
        else:
            positions = ((attention_mask[:, -k_len:].long().cumsum(dim=1) - 1).clamp(min=0)).float()
        return self.alibi_slopes.to(device)[None, :, None, None] * positions[:, None, None, :]

    def _mask(
        self, q_len: int, k_len: int, attention_mask: Optional[torch.Tensor], device: torch.device
    ) -> Optional[torch.Tensor]:
        """Boolean ``[batch|1, 1, q, k]`` mask of allowed positions, or None when nothing is masked."""
        mask = None
        if self.causal:
            q_pos = torch.arange(k_len - q_len, k_len, device=device)[:, None]
            k_pos = torch.arange(k_len, device=device)[None, :]
            mask = k_pos <= q_pos
            if self.attn_type == "local":
                mask = mask & (q_pos - k_pos < self.cfg.window_size)
            mask = mask[None, None]
        if attention_mask is not None:
            key_ok = attention_mask[:, None, None, -k_len:].bool()
            mask = key_ok if mask is None else mask & key_ok
        return mask

    def _needs_explicit_pattern(self) -> bool:
        return bool(
            self.hook_attn_scores.fwd_hooks
            or self.hook_attn_scores.bwd_hooks
            or self.hook_pattern.fwd_hooks
            or self.hook_pattern.bwd_hooks
            or self.cfg.attn_scores_soft_cap > 0
            or self.cfg.use_attention_sinks
        )

    def _fused_attend(
        self,
        qh: torch.Tensor,
        kh: torch.Tensor,
        vh: torch.Tensor,
        mask: Optional[torch.Tensor],
        padded: bool,
        position_bias: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """torch's scaled_dot_product_attention on ``"batch head_index pos d_head"`` tensors.

        Only a padding mask can leave a query with no visible key (causal and local masks always
        show it itself), so ``padded`` says whether to look for such rows.
        """
        empty = None
        if mask is not None and padded:
            # A query with no visible key (left padding) would give NaN: let it see every key,
            # then zero its output, as the explicit path's zeroed pattern row does.
            empty = ~mask.any(dim=-1, keepdim=True)
            mask = mask | empty
        attn_mask: Optional[torch.Tensor] = mask
        if position_bias is not None:
            bias = position_bias.to(qh.dtype)
            attn_mask = bias if mask is None else bias.masked_fill(~mask, float("-inf"))
        z = F.scaled_dot_product_attention(qh, kh, vh, attn_mask=attn_mask, scale=1.0 / self.attn_scale)
        return z if empty is None else z.masked_fill(empty, 0.0)

    def _attend(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        mask: Optional[torch.Tensor],
        position_bias: Optional[torch.Tensor] = None,
        padded: bool = True,
    ) -> torch.Tensor:
        """Queries, keys, values ``"batch pos head_index d_head"`` -> z of the same shape.

        Hooks that only read the scores or the pattern (caching, say) leave the output bit for
        bit what a run without hooks gives: the fused kernel still makes z. Only an edited
        scores/pattern tensor, a backward hook on them, a soft cap or attention sinks make
        ``pattern @ v`` the output.
        """
        qh, kh, vh = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        if not self._needs_explicit_pattern():
            return self._fused_attend(qh, kh, vh, mask, padded, position_bias).transpose(1, 2)
        # In-place steps on fresh tensors: autograd needs none of their old values, and fewer
        # temporaries keep run_with_cache's memory close to what the cache itself holds.
        scores = torch.matmul(qh, kh.transpose(-1, -2)).div_(self.attn_scale)
        if position_bias is not None:
            scores = scores + position_bias.to(scores.dtype)
        if self.cfg.attn_scores_soft_cap > 0:
            cap = self.cfg.attn_scores_soft_cap
            scores = cap * torch.tanh(scores / cap)
        if mask is not None:
            scores.masked_fill_(~mask, float("-inf"))
        scores_version = version_of(scores)
        seen_scores = self.hook_attn_scores(scores)
        if self.cfg.use_attention_sinks:
            pattern = self._softmax_with_sinks(seen_scores)
        else:
            pattern = torch.softmax(seen_scores, dim=-1)
        if mask is not None and not bool(mask.any(dim=-1).all()):
            # Rows with no visible key (left padding) are NaN after softmax; upstream makes them 0.
            pattern = torch.where(torch.isnan(pattern), torch.zeros_like(pattern), pattern)
        pattern = pattern.to(v.dtype)
        pattern_version = version_of(pattern)
        seen_pattern = self.hook_pattern(pattern)
        read_only = (
            untouched(seen_scores, scores, scores_version)
            and untouched(seen_pattern, pattern, pattern_version)
            and self.cfg.attn_scores_soft_cap <= 0
            and not self.cfg.use_attention_sinks
            and not self.hook_attn_scores.bwd_hooks
            and not self.hook_pattern.bwd_hooks
        )
        z = torch.matmul(seen_pattern, vh)
        if read_only:
            with torch.no_grad():
                fused = self._fused_attend(qh, kh, vh, mask, padded, position_bias)
            z = fused_value_explicit_grad(fused, z)
        return z.transpose(1, 2)

    def _softmax_with_sinks(self, scores: torch.Tensor) -> torch.Tensor:
        """gpt-oss: each head's sink logit joins the softmax and is dropped after, so rows sum to < 1."""
        sink = self.sinks.to(scores.dtype)[None, :, None, None].expand(*scores.shape[:-1], 1)
        return torch.softmax(torch.cat([scores, sink], dim=-1), dim=-1)[..., :-1]

    def _output(self, z: torch.Tensor) -> torch.Tensor:
        if self.cfg.use_attn_result:
            result = self.hook_result(torch.einsum("bphd,hdm->bphm", z, self.W_O))
            return result.sum(dim=2) + self.b_O
        batch, pos = z.shape[:2]
        flat = torch.addmm(self.b_O, z.reshape(batch * pos, -1), self.W_O.reshape(-1, self.cfg.d_model))
        return flat.view(batch, pos, self.cfg.d_model)


class GroupedQueryAttention(Attention):
    """Attention with fewer key/value heads than query heads (``cfg.n_key_value_heads``).

    K/V are stored once per group as ``_W_K``/``_W_V`` (upstream's names); ``W_K``/``W_V``
    expose them per query head, so weight analysis code works unchanged.
    """

    _kv_prefix = "_"

    def stored_key_value(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        return self._W_K, self._b_K, self._W_V, self._b_V

    @property
    def W_K(self) -> torch.Tensor:  # type: ignore[override]
        return self._W_K.repeat_interleave(self.repeat_kv, dim=0)

    @property
    def W_V(self) -> torch.Tensor:  # type: ignore[override]
        return self._W_V.repeat_interleave(self.repeat_kv, dim=0)

    @property
    def b_K(self) -> torch.Tensor:  # type: ignore[override]
        return self._b_K.repeat_interleave(self.repeat_kv, dim=0)

    @property
    def b_V(self) -> torch.Tensor:  # type: ignore[override]
        return self._b_V.repeat_interleave(self.repeat_kv, dim=0)


def alibi_slopes(n_heads: int) -> torch.Tensor:
    """ALiBi's per-head slopes ``[n_heads]``: a geometric sequence, interleaved when n_heads is no power of 2."""
    closest = 2 ** math.floor(math.log2(n_heads))
    base = 2.0 ** (-(2.0 ** -(math.log2(closest) - 3)))
    slopes = base ** torch.arange(1, closest + 1, dtype=torch.float32)
    if closest != n_heads:
        extra_base = 2.0 ** (-(2.0 ** -(math.log2(2 * closest) - 3)))
        remaining = min(closest, n_heads - closest)
        slopes = torch.cat([slopes, extra_base ** torch.arange(1, 2 * remaining + 1, 2, dtype=torch.float32)])
    return slopes


def make_attention(cfg: HookedTransformerConfig, layer_idx: int) -> Attention:
    grouped = cfg.n_key_value_heads is not None and cfg.n_key_value_heads != cfg.n_heads
    return (GroupedQueryAttention if grouped else Attention)(cfg, layer_id=layer_idx)


def key_mask_from_additive(additive_mask: torch.Tensor, attention_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``"batch 1 1 key_pos"`` additive mask (0 = attend) -> ``"batch key_pos"`` 0/1 mask, combined with ``attention_mask``."""
    if additive_mask.ndim != 4 or additive_mask.shape[1] != 1 or additive_mask.shape[2] != 1:
        raise ValueError(f"additive_attention_mask must have shape [batch, 1, 1, key_pos], got {tuple(additive_mask.shape)}")
    keys = additive_mask[:, 0, 0, :].eq(0).long()
    return keys if attention_mask is None else keys * attention_mask.long()
