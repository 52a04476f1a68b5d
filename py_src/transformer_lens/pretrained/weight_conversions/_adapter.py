"""Upstream's ``convert_<family>_weights(hf_model, cfg)`` over LensLab's family converters.

Upstream converts from a loaded Hugging Face model; LensLab's families (``loading/families``)
convert a state dict of Hugging Face names, which is what the model's ``state_dict()`` gives. So
each upstream function is the family's ``convert_state_dict`` applied to that, nothing more.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Optional, Union

import torch

Converter = Callable[[Any, Any], "dict[str, torch.Tensor]"]


def _as_config(cfg: Union[dict, Any]) -> Any:
    from transformer_lens.config import HookedTransformerConfig

    return HookedTransformerConfig(**cfg) if isinstance(cfg, dict) else cfg


def _hf_tensors(hf_model: Any) -> "dict[str, torch.Tensor]":
    """Every tensor of a Hugging Face model under its state-dict name.

    Besides an ``nn.Module`` (its ``state_dict()``) or a ready state dict, any object tree whose
    attributes lead to tensors works (lists index like ``ModuleList``), e.g. a stand-in built from
    ``unittest.mock.Mock`` or ``SimpleNamespace`` with only the weights set.
    """
    if isinstance(hf_model, dict):
        return hf_model
    out: "dict[str, torch.Tensor]" = {}
    _collect(hf_model, "", out, set())
    if not out:
        raise TypeError(f"expected a Hugging Face model (torch.nn.Module) or its state dict, got {type(hf_model).__name__}")
    return out


def _children(obj: Any) -> "dict[str, Any]":
    if isinstance(obj, (list, tuple)):
        return {str(index): item for index, item in enumerate(obj)}
    if isinstance(obj, dict):
        return {str(key): value for key, value in obj.items()}
    children: "dict[str, Any]" = {}
    if type(obj).__module__ == "unittest.mock":
        from unittest.mock import sentinel

        # Attributes a Mock created on access live here; deleted ones hold sentinel.DELETED.
        children.update({k: v for k, v in obj._mock_children.items() if v is not sentinel.DELETED})
    try:
        children.update({k: v for k, v in vars(obj).items() if not k.startswith("_")})
    except TypeError:  # no __dict__ (a number, a string): a leaf without tensors
        pass
    return children


def _collect(obj: Any, prefix: str, out: "dict[str, torch.Tensor]", seen: set) -> None:
    if isinstance(obj, torch.Tensor):
        out[prefix[:-1]] = obj
        return
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, torch.nn.Module):
        out.update({prefix + key: value for key, value in obj.state_dict().items()})
        return
    for name, child in _children(obj).items():
        _collect(child, f"{prefix}{name}.", out, seen)


def upstream_kv_names(
    state_dict: "dict[str, torch.Tensor]", cfg: Any, whenever_set: bool = False
) -> "dict[str, torch.Tensor]":
    """Upstream's spelling: ``_W_K``/``_b_K``/``_W_V``/``_b_V`` for grouped-query attention (its
    GroupedQueryAttention stores them so); LensLab's loaders accept either spelling. Most of
    upstream's converters use it when ``n_key_value_heads`` differs from ``n_heads``, a few
    (``whenever_set``) whenever it is set."""
    n_kv = cfg.n_key_value_heads
    if n_kv is None or (n_kv == cfg.n_heads and not whenever_set):
        return state_dict
    renamed = {}
    for key, value in state_dict.items():
        prefix, _, leaf = key.rpartition(".")
        if prefix.endswith(".attn") and leaf in ("W_K", "b_K", "W_V", "b_V"):
            key = f"{prefix}._{leaf}"
        renamed[key] = value
    return renamed


def family_converter(
    family: str,
    upstream_name: str,
    kv_whenever_set: bool = False,
    relayout: Optional[Callable[[Any, Any], Any]] = None,
) -> Converter:
    """``upstream_name(hf_model, cfg) -> state dict`` in TransformerLens names, by ``loading.families.<family>``.

    ``relayout(state_dict, cfg)`` turns LensLab's layout into upstream's where they differ."""

    def convert(hf_model: Any, cfg: Any) -> "dict[str, torch.Tensor]":
        module = importlib.import_module(f"transformer_lens.loading.families.{family}")
        config = _as_config(cfg)
        sd = module.convert_state_dict(_hf_tensors(hf_model), config)
        if relayout is not None:
            sd = relayout(sd, config)
        return upstream_kv_names(sd, config, kv_whenever_set)

    convert.__name__ = convert.__qualname__ = upstream_name
    convert.__doc__ = (
        f"The weights of a Hugging Face {family} model (or its state dict) in TransformerLens names and "
        f"layouts; LensLab's ``transformer_lens.loading.families.{family}.convert_state_dict`` does the work."
    )
    return convert


def tl_format_converter(architecture: str, upstream_name: str) -> Converter:
    """For checkpoints stored in TransformerLens's own format (minGPT, the old SoLU models)."""

    def convert(state_dict: Any, cfg: Any) -> "dict[str, torch.Tensor]":
        from transformer_lens.loading import tl_format

        config = _as_config(cfg)
        if config.original_architecture != architecture:
            config = config.__class__(**{**config.to_dict(), "original_architecture": architecture})
        return tl_format.convert_state_dict(_hf_tensors(state_dict), config)

    convert.__name__ = convert.__qualname__ = upstream_name
    return convert


def not_provided(upstream_name: str, what: str, instead: str) -> Converter:
    def convert(*args: Any, **kwargs: Any) -> "dict[str, torch.Tensor]":
        raise NotImplementedError(f"{upstream_name}: {what} is not supported by LensLab; {instead}")

    convert.__name__ = convert.__qualname__ = upstream_name
    return convert
