"""``HookedModel``: what the patching engine and the widgets use of a model, as a Protocol.

``HookedTransformer`` satisfies it; so does any object with the same members (a test double,
a wrapper). Typing against it instead of ``Any`` lets the type checker see what the engine needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ContextManager, Iterable, Mapping, Protocol

import torch

if TYPE_CHECKING:
    from transformer_lens.config import HookedTransformerConfig

__all__ = ["HookedModel"]


class HookedModel(Protocol):
    """A hooked causal language model, as the patching engine drives it."""

    @property
    def cfg(self) -> HookedTransformerConfig: ...

    @property
    def hook_dict(self) -> Mapping[str, Any]: ...

    @property
    def W_E(self) -> torch.Tensor: ...

    def __call__(self, input: Any, *args: Any, **kwargs: Any) -> Any:
        """Tokens (or a residual stream with ``start_at_layer``) -> logits (or the residual stream)."""
        ...

    def run_with_hooks(self, *model_args: Any, **model_kwargs: Any) -> Any: ...

    def hooks(self, fwd_hooks: Any = ..., bwd_hooks: Any = ..., reset_hooks_end: bool = ..., clear_contexts: bool = ...) -> ContextManager[Any]: ...

    def hook_points(self) -> Iterable[Any]: ...
