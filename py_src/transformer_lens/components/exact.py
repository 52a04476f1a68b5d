"""Keep a run with hooks bit for bit equal to a run without them.

Components run torch's fused kernels (scaled_dot_product_attention, layer_norm with its weights)
unless a hook needs an intermediate value. When hooks only read that value, the output is still
the fused result; but gradients must flow through the hooked tensors (attribution patching and
backward hooks read them), so the explicit computation stays on the autograd graph.
"""

from __future__ import annotations

import torch


def fused_value_explicit_grad(fused: torch.Tensor, explicit: torch.Tensor) -> torch.Tensor:
    """``fused``'s exact values, with ``explicit``'s gradient (the two compute the same function)."""
    if not explicit.requires_grad:
        return fused
    # explicit - explicit.detach() is exactly 0 for finite values, and fused + 0 is fused.
    return fused.detach() + (explicit - explicit.detach())


def version_of(tensor: torch.Tensor) -> int | None:
    """``tensor``'s in-place version counter, or None for an inference-mode tensor (it keeps none)."""
    return None if tensor.is_inference() else tensor._version


def untouched(seen: torch.Tensor, shown: torch.Tensor, version: int | None) -> bool:
    """Whether a hook handed back the tensor it was shown, not edited in place.

    Under ``torch.inference_mode`` edits cannot be detected, so a hooked value counts as touched and
    the explicit computation is the output (equal to the fused one to float32 rounding).
    """
    return seen is shown and version is not None and shown._version == version
