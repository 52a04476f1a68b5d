"""LayerNorm and RMSNorm, with and without learned weights ("Pre" = weights folded away).

When nobody hooks ``hook_scale`` the fused torch kernel runs; the explicit formula only
runs when the scale must be seen or replaced.
"""

from __future__ import annotations

from typing import Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from transformer_lens.components.exact import fused_value_explicit_grad, untouched, version_of
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.hook_points import HookPoint


class _Norm(nn.Module):
    learned = True
    centered = True

    def __init__(self, cfg: Union[HookedTransformerConfig, dict], length: int | None = None) -> None:
        super().__init__()
        self.cfg = cfg = HookedTransformerConfig.unwrap(cfg)
        self.eps = cfg.eps
        self.length = length or cfg.d_model
        if self.learned:
            self.w = nn.Parameter(torch.ones(self.length, dtype=cfg.dtype))
            if self.centered:
                self.b = nn.Parameter(torch.zeros(self.length, dtype=cfg.dtype))
        self.hook_scale = HookPoint()  # [batch, pos, 1]
        self.hook_normalized = HookPoint()  # [batch, pos, length]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``"batch pos length" -> "batch pos length"``.

        ``hook_normalized`` sees ``(x - mean) / scale`` before the learned ``w`` and ``b``
        (upstream 3.x). Hooks that only read (caching, say) leave the output bit for bit what a
        run without hooks gives: torch's fused kernel still makes it.
        """
        in_dtype = x.dtype
        if in_dtype not in (torch.float32, torch.float64):
            x = x.float()
        scale_hooked = bool(self.hook_scale.fwd_hooks or self.hook_scale.bwd_hooks)
        if not scale_hooked and not (self.hook_normalized.fwd_hooks or self.hook_normalized.bwd_hooks):
            return self._fused(x, affine=True).to(in_dtype)
        if self.hook_scale.bwd_hooks:
            normalized, exact = self._explicit(x), False
        elif scale_hooked:
            normalized, exact = self._normalized_with_scale_hook(x)
        else:
            normalized, exact = self._fused(x, affine=False), True
        version = version_of(normalized)
        seen = self.hook_normalized(normalized)
        unchanged = untouched(seen, normalized, version) and not self.hook_normalized.bwd_hooks
        out = self._affine(seen)
        if exact and unchanged:
            with torch.no_grad():
                fused = self._fused(x, affine=True)
            out = fused_value_explicit_grad(fused, out)
        return out.to(in_dtype)

    def _normalized_with_scale_hook(self, x: torch.Tensor) -> tuple[torch.Tensor, bool]:
        """Show the scale to its hooks: the normalized input, and whether the scale is untouched."""
        if self.centered:
            var, mean = torch.var_mean(x, dim=-1, keepdim=True, correction=0)
        else:
            var, mean = x.pow(2).mean(-1, keepdim=True), None
        scale = (var + self.eps).sqrt()
        version = version_of(scale)
        seen = self.hook_scale(scale)
        if untouched(seen, scale, version):
            return self._fused(x, affine=False), True
        centered = x - mean if mean is not None else x
        return centered / seen, False

    def _affine(self, x: torch.Tensor) -> torch.Tensor:
        if not self.learned:
            return x
        x = x * self.w.float()
        return x + self.b.float() if self.centered else x

    def _explicit(self, x: torch.Tensor) -> torch.Tensor:
        if self.centered:
            x = x - x.mean(-1, keepdim=True)
        scale = self.hook_scale((x.pow(2).mean(-1, keepdim=True) + self.eps).sqrt())
        return x / scale

    def _fused(self, x: torch.Tensor, affine: bool) -> torch.Tensor:
        """torch's normalization kernel, with or without the learned weights."""
        w = self.w.float() if affine and self.learned else None
        if self.centered:
            b = self.b.float() if affine and self.learned else None
            return F.layer_norm(x, (self.length,), w, b, self.eps)
        return F.rms_norm(x, (self.length,), w, self.eps)


class LayerNorm(_Norm):
    pass


class LayerNormPre(_Norm):
    learned = False


class RMSNorm(_Norm):
    centered = False


class RMSNormPre(_Norm):
    learned = False
    centered = False


NORM_CLASSES: dict = {"LN": LayerNorm, "LNPre": LayerNormPre, "RMS": RMSNorm, "RMSPre": RMSNormPre}


def make_norm(cfg: HookedTransformerConfig, length: int | None = None) -> nn.Module:
    """The norm module the config asks for; Identity when ``normalization_type`` is None."""
    if cfg.normalization_type is None:
        return nn.Identity()
    return NORM_CLASSES[cfg.normalization_type](cfg, length)


def make_learned_norm(cfg: HookedTransformerConfig, length: int | None = None) -> nn.Module:
    """A norm that keeps its weights after ``fold_ln``: post-norms (Gemma 2, OLMo 2) and q/k norms.

    Nothing reads their output linearly, so there is no weight to fold them into; they follow
    the model's norm kind (RMSNorm for RMS/RMSPre, LayerNorm for LN/LNPre).
    """
    if cfg.normalization_type is None:
        return nn.Identity()
    return (RMSNorm if cfg.normalization_type.startswith("RMS") else LayerNorm)(cfg, length)


def make_final_norm(cfg: HookedTransformerConfig) -> nn.Module:
    """``ln_final``: as ``make_norm``, except that ``final_rms`` makes a LayerNorm model's last norm an RMSNorm."""
    if cfg.final_rms and cfg.normalization_type in ("LN", "LNPre"):
        return (RMSNorm if cfg.normalization_type == "LN" else RMSNormPre)(cfg)
    return make_norm(cfg)


def make_mlp_norm(cfg: HookedTransformerConfig, length: int) -> nn.Module:
    """The LayerNorm inside a SoLU MLP (over ``length`` = d_mlp): learned until weights are folded, as upstream."""
    return LayerNorm(cfg, length) if cfg.normalization_type == "LN" else LayerNormPre(cfg, length)
