"""ActivationCache: the activations of one forward pass, as a dict with shorthand keys.

``cache["blocks.0.attn.hook_pattern"]``, ``cache["pattern", 0]``, ``cache["pattern", -1]`` (last
layer), ``cache["scale", 0, "ln1"]`` and ``cache["embed"]`` all work; shorthands go through
``hook_names.get_act_name``, the one table of hook names. The residual-stream analysis
(``accumulated_resid``, ``decompose_resid``, ``logit_attrs``, ...) lives in
``resid_decomposition.py``.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any, ItemsView, Iterator, KeysView, Union, ValuesView

import torch

from transformer_lens import hook_names
from transformer_lens.resid_decomposition import ResidDecompositionMixin
from transformer_lens.utils import Slice, SliceInput

logger = logging.getLogger(__name__)


class ActivationCache(ResidDecompositionMixin):
    """Activations from ``model.run_with_cache``, plus helpers to decompose the residual stream.

    Shapes follow the hook table: residual-stream hooks are ``"batch pos d_model"``, per-head
    vectors ``"batch pos head_index d_head"``, patterns ``"batch head_index query_pos key_pos"``,
    LayerNorm scales ``"batch pos 1"``. Without a batch dimension (``remove_batch_dim``) the
    leading ``batch`` is gone, and every helper here copes with that.

    Args:
        cache_dict: hook name -> activation.
        model: the model that produced them (the helpers read its config and weights).
        has_batch_dim: whether the activations keep their batch dimension.
    """

    def __init__(self, cache_dict: dict[str, torch.Tensor], model: Any, has_batch_dim: bool = True) -> None:
        self.cache_dict = cache_dict
        self.model = model
        self.has_batch_dim = has_batch_dim

    @property
    def has_embed(self) -> bool:
        return "hook_embed" in self.cache_dict

    @property
    def has_pos_embed(self) -> bool:
        # Shortformer models cache hook_pos_embed too, but it never enters the residual stream.
        return "hook_pos_embed" in self.cache_dict and self.model.cfg.positional_embedding_type == "standard"

    # ---- dict-like access ------------------------------------------------------------
    def resolve_key(self, key: Any) -> str:
        """The full hook name a key or shorthand stands for (the name need not be cached)."""
        if isinstance(key, str):
            return key if key in self.cache_dict else hook_names.get_act_name(key)
        if isinstance(key, tuple) and key and isinstance(key[0], str):
            if len(key) > 3:
                raise KeyError(f"A cache key tuple is (name, layer, layer_type); got {key!r}")
            name, *rest = key
            layer = rest[0] if rest else None
            if isinstance(layer, int) and layer < 0:
                layer += self.model.cfg.n_layers
            return hook_names.get_act_name(name, layer, *rest[1:])
        raise KeyError(f"Cache keys are hook names, shorthands or (name, layer[, layer_type]) tuples; got {key!r}")

    def __getitem__(self, key: Any) -> torch.Tensor:
        """The activation for a hook name, shorthand (``"resid_pre0"``) or tuple (``("pattern", -1)``)."""
        if isinstance(key, str) and key in self.cache_dict:
            return self.cache_dict[key]
        name = self.resolve_key(key)
        if name in self.cache_dict:
            return self.cache_dict[name]
        raise KeyError(self._missing_message(key, name))

    def _missing_message(self, key: Any, name: str) -> str:
        shown = repr(key) if key == name else f"{key!r} (= {name!r})"
        close = hook_names.closest_names(name, self.cache_dict)
        if close:
            return f"No activation {shown} in the cache. Closest cached keys: {', '.join(close)}"
        return f"No activation {shown} in the cache ({len(self.cache_dict)} keys cached; see cache.keys())"

    def __contains__(self, key: object) -> bool:
        return key in self.cache_dict

    def __len__(self) -> int:
        return len(self.cache_dict)

    def __iter__(self) -> Iterator[str]:
        return iter(self.cache_dict)

    def keys(self) -> KeysView[str]:
        return self.cache_dict.keys()

    def values(self) -> ValuesView[torch.Tensor]:
        return self.cache_dict.values()

    def items(self) -> ItemsView[str, torch.Tensor]:
        return self.cache_dict.items()

    def __repr__(self) -> str:
        return f"ActivationCache with keys {list(self.cache_dict.keys())}"

    # ---- whole-cache operations ------------------------------------------------------
    def to(self, device: Union[str, torch.device], move_model: bool = False) -> "ActivationCache":
        """Move every activation (and, with ``move_model``, the model) to ``device``; returns self."""
        self.cache_dict = {name: value.to(device) for name, value in self.cache_dict.items()}
        if move_model:
            self.model.to(device)
        return self

    def toggle_autodiff(self, mode: bool = False) -> None:
        """Turn torch's autograd on or off globally (``torch.set_grad_enabled(mode)``).

        This changes global state; ``torch.inference_mode()`` or ``torch.no_grad()`` as a context
        manager is usually the better choice.
        """
        logger.warning("Changed the global state, set autodiff to %s", mode)
        torch.set_grad_enabled(mode)

    def _batch_size(self) -> int:
        """The most common leading size among the cached tensors."""
        counts = Counter(value.shape[0] for value in self.cache_dict.values() if value.ndim > 0)
        return counts.most_common(1)[0][0] if counts else 1

    def remove_batch_dim(self) -> "ActivationCache":
        """Drop the batch dimension of a batch-of-one cache, in place; returns self."""
        if not self.has_batch_dim:
            logger.warning("Tried removing batch dimension after already having removed it.")
            return self
        batch_size = self._batch_size()
        if batch_size != 1:
            raise ValueError(f"Cannot remove batch dimension from cache with batch size {batch_size}")
        for name, value in self.cache_dict.items():
            if value.ndim > 0 and value.shape[0] == 1:
                self.cache_dict[name] = value[0]
        self.has_batch_dim = False
        return self

    def apply_slice_to_batch_dim(self, batch_slice: Union[Slice, SliceInput]) -> "ActivationCache":
        """A new cache holding only the selected batch entries (an int slice drops the batch dim)."""
        if not isinstance(batch_slice, Slice):
            batch_slice = Slice(batch_slice)
        if not self.has_batch_dim and batch_slice.mode != "identity":
            raise ValueError("Cannot index into a cache without a batch dim")
        batch_size = self._batch_size()
        sliced = {
            name: batch_slice.apply(value, dim=0) if value.ndim > 0 and value.shape[0] == batch_size else value
            for name, value in self.cache_dict.items()
        }
        return ActivationCache(sliced, self.model, has_batch_dim=self.has_batch_dim and batch_slice.mode != "int")
