"""Direct path patching: the effect of one head's output reaching another head's query, key or value directly.

Activation patching of a head changes everything downstream of it. Here only the path A -> B is
patched: the difference between A's clean and corrupted outputs (``z @ W_O`` of head A) is divided by
B's layer-norm scale from the corrupted run and projected by B's ``W_Q``/``W_K``/``W_V``, then added to
B's query/key/value in a corrupted run. Every other reader of A's output still sees the corrupted
value. The projection is exact when the layer norms' weights are folded into the model (``fold_ln``).
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Literal

import torch

from transformer_lens.hook_names import get_act_name

__all__ = ["get_act_patch_direct_path", "get_act_patch_direct_path_all_sources"]

Component = Literal["q", "k", "v"]


def _check_fold_ln(model: Any) -> None:
    try:
        weight = getattr(getattr(model.blocks[0], "ln1", None), "w", None)
    except (AttributeError, TypeError, IndexError):  # not a HookedTransformer-like model: nothing to check
        return
    if weight is not None and not torch.allclose(weight, torch.ones_like(weight), atol=1e-3):
        warnings.warn(
            "Direct path patching is exact only with layer-norm weights folded in "
            "(from_pretrained(..., fold_ln=True)); these results are an approximation.",
            UserWarning,
            stacklevel=3,
        )


def _head_output(cache: Any, model: Any, layer: int, head: int) -> torch.Tensor:
    """``"batch pos d_model"``: what head ``(layer, head)`` writes into the residual stream (bias excluded)."""
    z = cache[get_act_name("z", layer)][:, :, head, :]
    return z @ model.blocks[layer].attn.W_O[head]


def get_act_patch_direct_path(
    model: Any,
    corrupted_tokens: torch.Tensor,
    clean_cache: Any,
    corrupted_cache: Any,
    patching_metric: Callable[[torch.Tensor], torch.Tensor],
    src_layer: int,
    src_head: int,
    component: Component = "q",
    verbose: bool = True,
) -> torch.Tensor:
    """``"n_layers n_heads"``: the metric with the path from ``(src_layer, src_head)`` to each later head patched.

    Entries for layers up to ``src_layer`` (no path) are 0. ``component`` chooses the destination's
    query, key or value; ``verbose`` is accepted for upstream compatibility (no progress bar is shown).
    """
    if component not in ("q", "k", "v"):
        raise ValueError(f"component must be 'q', 'k' or 'v', got {component!r}")
    if not (0 <= src_layer < model.cfg.n_layers and 0 <= src_head < model.cfg.n_heads):
        raise ValueError(f"source head ({src_layer}, {src_head}) is outside the model's {model.cfg.n_layers} x {model.cfg.n_heads} heads")
    _check_fold_ln(model)
    n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
    results = torch.zeros(n_layers, n_heads)
    delta_resid = _head_output(clean_cache, model, src_layer, src_head) - _head_output(corrupted_cache, model, src_layer, src_head)
    for dst_layer in range(src_layer + 1, n_layers):
        attn = model.blocks[dst_layer].attn
        weights = {"q": attn.W_Q, "k": attn.W_K, "v": attn.W_V}[component]
        ln_scale = corrupted_cache[f"blocks.{dst_layer}.ln1.hook_scale"]
        scaled_delta = delta_resid / ln_scale
        for dst_head in range(n_heads):

            def add_delta(value: torch.Tensor, hook: Any, dst_head: int = dst_head) -> torch.Tensor:
                # With grouped-query attention, k/v hooks hold one head per group: patch the head's group.
                slot = dst_head * value.shape[2] // n_heads
                patched = value.clone()
                patched[:, :, slot, :] += scaled_delta @ weights[dst_head]
                return patched

            logits = model.run_with_hooks(corrupted_tokens, fwd_hooks=[(get_act_name(component, dst_layer), add_delta)])
            results[dst_layer, dst_head] = patching_metric(logits).item()
    return results


def get_act_patch_direct_path_all_sources(
    model: Any,
    corrupted_tokens: torch.Tensor,
    clean_cache: Any,
    corrupted_cache: Any,
    patching_metric: Callable[[torch.Tensor], torch.Tensor],
    component: Component = "q",
    verbose: bool = True,
) -> torch.Tensor:
    """``"n_layers n_heads n_layers n_heads"``: ``get_act_patch_direct_path`` for every source head.

    One forward pass per (source, later destination) pair: meant for small models.
    """
    n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
    results = torch.zeros(n_layers, n_heads, n_layers, n_heads)
    for src_layer in range(n_layers):
        for src_head in range(n_heads):
            results[src_layer, src_head] = get_act_patch_direct_path(
                model, corrupted_tokens, clean_cache, corrupted_cache, patching_metric, src_layer, src_head, component, verbose
            )
    return results
