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
    """A hooked causal language model, as the patching engine, the sidebar's jobs and the widgets use it."""

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

    # What the sidebar's jobs and the widgets use besides (tokenizing prompts, the clean run).
    @property
    def tokenizer(self) -> Any: ...

    def to_tokens(self, input: Any, *args: Any, **kwargs: Any) -> torch.Tensor: ...

    def to_single_token(self, string: str) -> int: ...

    def to_str_tokens(self, input: Any, *args: Any, **kwargs: Any) -> Any: ...

    def run_with_cache(self, *model_args: Any, **kwargs: Any) -> tuple[Any, Any]: ...


if TYPE_CHECKING:
    from transformer_lens.hooked_transformer import HookedTransformer

    def _conforms(model: HookedTransformer) -> HookedModel:
        return model  # mypy checks here that HookedTransformer satisfies the protocol
