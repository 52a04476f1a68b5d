"""Hook points: identity modules that let user functions read or replace activations.

A ``HookPoint`` keeps its own list of hook functions instead of using torch's module
hooks: the no-hook path is then a single list check, ``prepend`` is trivial, and a
backward hook is a tensor hook on exactly the activation the forward hook saw.
"""

from __future__ import annotations

import itertools
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Literal, Optional, Sequence, Union

import torch
import torch.nn as nn

from transformer_lens import hook_names

HookFunction = Callable[..., Optional[torch.Tensor]]
NamesFilter = Union[None, str, Sequence[str], Callable[[str], bool]]
Direction = Literal["fwd", "bwd"]

_handle_ids = itertools.count()


@dataclass
class LensHandle:
    """A handle to one added hook; ``remove()`` detaches it."""

    hook_point: "HookPoint"
    fn: HookFunction
    dir: Direction
    is_permanent: bool = False
    context_level: Optional[int] = None

    def __post_init__(self) -> None:
        self.id = next(_handle_ids)

    def remove(self) -> None:
        self.hook_point._remove_handle(self)


class HookPoint(nn.Module):
    """Identity module that calls its forward hooks on the activation passing through."""

    def __init__(self) -> None:
        super().__init__()
        self.fwd_hooks: list[LensHandle] = []
        self.bwd_hooks: list[LensHandle] = []
        self.ctx: dict[Any, Any] = {}
        self.name: Optional[str] = None

    def add_hook(
        self,
        hook: HookFunction,
        dir: Direction = "fwd",
        is_permanent: bool = False,
        level: Optional[int] = None,
        prepend: bool = False,
    ) -> LensHandle:
        """Attach ``hook(activation, hook=self)``; a non-None return value replaces the activation."""
        if dir not in ("fwd", "bwd"):
            raise ValueError(f"dir must be 'fwd' or 'bwd', got {dir!r}")
        if not callable(hook):
            raise TypeError(f"hook for {self.name!r} must be callable, got {type(hook).__name__}")
        handle = LensHandle(self, hook, dir, is_permanent, level)
        hooks = self.fwd_hooks if dir == "fwd" else self.bwd_hooks
        if prepend:
            hooks.insert(0, handle)
        else:
            hooks.append(handle)
        return handle

    def _remove_handle(self, handle: LensHandle) -> None:
        hooks = self.fwd_hooks if handle.dir == "fwd" else self.bwd_hooks
        hooks[:] = [h for h in hooks if h is not handle]

    def remove_hooks(
        self,
        dir: Literal["fwd", "bwd", "both"] = "fwd",
        including_permanent: bool = False,
        level: Optional[int] = None,
    ) -> None:
        def keep(handle: LensHandle) -> bool:
            if handle.is_permanent and not including_permanent:
                return True
            return level is not None and handle.context_level != level

        if dir in ("fwd", "both"):
            self.fwd_hooks[:] = [h for h in self.fwd_hooks if keep(h)]
        if dir in ("bwd", "both"):
            self.bwd_hooks[:] = [h for h in self.bwd_hooks if keep(h)]

    def clear_context(self) -> None:
        self.ctx.clear()

    def layer(self) -> int:
        """Block index this hook point lives in (error for model-level hooks)."""
        layer = hook_names.layer_of(self.name or "")
        if layer is None:
            raise ValueError(f"Hook point {self.name!r} is not inside a block")
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for handle in self.fwd_hooks:
            out = handle.fn(x, hook=self)
            if out is not None:
                x = out
        if self.bwd_hooks and isinstance(x, torch.Tensor) and x.requires_grad:
            for handle in self.bwd_hooks:
                x.register_hook(self._grad_hook(handle.fn))
        return x

    def _grad_hook(self, fn: HookFunction) -> Callable[[torch.Tensor], Optional[torch.Tensor]]:
        return lambda grad: fn(grad, hook=self)

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


class HookedRootModule(nn.Module):
    """Base class for models made of hook points: naming, adding, removing and caching hooks."""

    hook_dict: dict[str, HookPoint]
    mod_dict: dict[str, nn.Module]

    def setup(self) -> None:
        """Name every submodule; call at the end of ``__init__``."""
        self.mod_dict = {}
        self.hook_dict = {}
        for name, module in self.named_modules():
            if name == "":
                continue
            module.name = name  # type: ignore[assignment]
            self.mod_dict[name] = module
            if isinstance(module, HookPoint):
                self.hook_dict[name] = module

    def hook_points(self) -> list[HookPoint]:
        return list(self.hook_dict.values())

    # ---- adding and removing ---------------------------------------------------------
    def _resolve_hook_points(self, name_or_filter: Union[str, Callable[[str], bool]]) -> list[HookPoint]:
        if isinstance(name_or_filter, str):
            hook_point = self.hook_dict.get(name_or_filter)
            if hook_point is None:
                raise KeyError(hook_names.unknown_hook_message(name_or_filter, self.hook_dict))
            return [hook_point]
        if callable(name_or_filter):
            return [hp for name, hp in self.hook_dict.items() if name_or_filter(name)]
        raise TypeError(
            f"A hook target must be a hook name or a filter function, got {type(name_or_filter).__name__}"
        )

    def add_hook(
        self,
        name: Union[str, Callable[[str], bool]],
        hook: HookFunction,
        dir: Direction = "fwd",
        is_permanent: bool = False,
        level: Optional[int] = None,
        prepend: bool = False,
    ) -> list[LensHandle]:
        """Attach ``hook`` to the named hook point, or to every hook point the filter accepts."""
        return [
            hook_point.add_hook(hook, dir=dir, is_permanent=is_permanent, level=level, prepend=prepend)
            for hook_point in self._resolve_hook_points(name)
        ]

    def add_perma_hook(self, name: Union[str, Callable[[str], bool]], hook: HookFunction, dir: Direction = "fwd") -> list[LensHandle]:
        return self.add_hook(name, hook, dir=dir, is_permanent=True)

    def remove_all_hook_fns(
        self,
        direction: Literal["fwd", "bwd", "both"] = "both",
        including_permanent: bool = False,
        level: Optional[int] = None,
    ) -> None:
        for hook_point in self.hook_dict.values():
            hook_point.remove_hooks(direction, including_permanent=including_permanent, level=level)

    def clear_contexts(self) -> None:
        for hook_point in self.hook_dict.values():
            hook_point.clear_context()

    def reset_hooks(
        self,
        clear_contexts: bool = True,
        direction: Literal["fwd", "bwd", "both"] = "both",
        including_permanent: bool = False,
        level: Optional[int] = None,
    ) -> None:
        if clear_contexts:
            self.clear_contexts()
        self.remove_all_hook_fns(direction, including_permanent, level=level)

    def _attach(
        self,
        fwd_hooks: Sequence[tuple[Union[str, Callable[[str], bool]], HookFunction]],
        bwd_hooks: Sequence[tuple[Union[str, Callable[[str], bool]], HookFunction]],
    ) -> list[LensHandle]:
        """Add all hooks or none: every target is resolved before the first one is attached."""
        resolved = [
            (hook_point, fn, direction)
            for direction, pairs in (("fwd", fwd_hooks), ("bwd", bwd_hooks))
            for target, fn in pairs
            for hook_point in self._resolve_hook_points(target)
        ]
        return [hook_point.add_hook(fn, dir=direction) for hook_point, fn, direction in resolved]

    @contextmanager
    def hooks(
        self,
        fwd_hooks: Sequence[tuple[Union[str, Callable[[str], bool]], HookFunction]] = (),
        bwd_hooks: Sequence[tuple[Union[str, Callable[[str], bool]], HookFunction]] = (),
        reset_hooks_end: bool = True,
        clear_contexts: bool = False,
    ) -> Iterator["HookedRootModule"]:
        """Context manager that attaches hooks and removes them on exit, even after an error."""
        handles = self._attach(fwd_hooks, bwd_hooks)
        try:
            yield self
        finally:
            if reset_hooks_end:
                for handle in handles:
                    handle.remove()
            if clear_contexts:
                self.clear_contexts()

    def run_with_hooks(
        self,
        *model_args: Any,
        fwd_hooks: Sequence[tuple[Union[str, Callable[[str], bool]], HookFunction]] = (),
        bwd_hooks: Sequence[tuple[Union[str, Callable[[str], bool]], HookFunction]] = (),
        reset_hooks_end: bool = True,
        clear_contexts: bool = False,
        **model_kwargs: Any,
    ) -> Any:
        """Run the model with temporary hooks; returns the model's output."""
        if bwd_hooks and reset_hooks_end:
            warnings.warn(
                "bwd_hooks are removed when run_with_hooks returns, before any backward pass can reach them: "
                "pass reset_hooks_end=False and call model.reset_hooks() after .backward()",
                stacklevel=2,
            )
        with self.hooks(fwd_hooks, bwd_hooks, reset_hooks_end, clear_contexts):
            return self(*model_args, **model_kwargs)

    # ---- caching ---------------------------------------------------------------------
    def _names_predicate(self, names_filter: NamesFilter) -> Callable[[str], bool]:
        if names_filter is None:
            return lambda name: True
        if isinstance(names_filter, str):
            names_filter = [names_filter]
        if callable(names_filter):
            return names_filter
        wanted = set(names_filter)
        unknown = [name for name in names_filter if name not in self.hook_dict]
        if unknown:
            raise KeyError(hook_names.unknown_hook_message(unknown[0], self.hook_dict))
        return wanted.__contains__

    def get_caching_hooks(
        self,
        names_filter: NamesFilter = None,
        incl_bwd: bool = False,
        device: Union[str, torch.device, None] = None,
        remove_batch_dim: bool = False,
        cache: Optional[dict[str, torch.Tensor]] = None,
        pos_slice: Any = None,
    ) -> tuple[dict[str, torch.Tensor], list[tuple[str, HookFunction]], list[tuple[str, HookFunction]]]:
        """Hooks that store (detached) activations, and optionally gradients, into ``cache``."""
        cache = {} if cache is None else cache
        keep = self._names_predicate(names_filter)
        position_slice = _as_slice(pos_slice)

        def saver(suffix: str) -> HookFunction:
            def save(tensor: torch.Tensor, hook: HookPoint) -> None:
                value = tensor.detach()
                if remove_batch_dim:
                    value = value[0]
                if position_slice is not None:
                    value = _slice_positions(value, hook.name or "", position_slice, not remove_batch_dim)
                if device is not None:  # moved as the hook fires, after slicing: only what is kept travels
                    value = value.to(device)
                if position_slice is not None and value.untyped_storage().nbytes() > value.nbytes:
                    value = value.clone()  # a view would keep the whole activation alive
                cache[f"{hook.name}{suffix}"] = value

            return save

        names = [name for name in self.hook_dict if keep(name)]
        fwd = [(name, saver("")) for name in names]
        bwd = [(name, saver("_grad")) for name in names] if incl_bwd else []
        return cache, fwd, bwd

    def run_with_cache(
        self,
        *model_args: Any,
        names_filter: NamesFilter = None,
        device: Union[str, torch.device, None] = None,
        remove_batch_dim: bool = False,
        incl_bwd: bool = False,
        reset_hooks_end: bool = True,
        clear_contexts: bool = False,
        pos_slice: Any = None,
        **model_kwargs: Any,
    ) -> tuple[Any, dict[str, torch.Tensor]]:
        """Run the model and return ``(output, cache_dict)`` of the activations the filter keeps.

        With ``incl_bwd=True`` the output must be a scalar-reducible tensor: ``output.backward()``
        is called and gradients are stored under ``"<hook name>_grad"``.
        """
        cache, fwd, bwd = self.get_caching_hooks(
            names_filter, incl_bwd, device, remove_batch_dim=remove_batch_dim, pos_slice=pos_slice
        )
        handles = self._attach(fwd, bwd)
        try:
            output = self(*model_args, **model_kwargs)
            if incl_bwd:
                output.backward()
        finally:
            if reset_hooks_end:
                for handle in handles:
                    handle.remove()
            if clear_contexts:
                self.clear_contexts()
        return output, cache

    def cache_all(self, cache: dict, incl_bwd: bool = False, device: Any = None, remove_batch_dim: bool = False) -> None:
        self.cache_some(cache, lambda name: True, incl_bwd, device, remove_batch_dim)

    def cache_some(
        self,
        cache: dict,
        names: Callable[[str], bool],
        incl_bwd: bool = False,
        device: Any = None,
        remove_batch_dim: bool = False,
    ) -> None:
        """Permanently-until-reset store activations whose names pass ``names`` into ``cache``."""
        _, fwd, bwd = self.get_caching_hooks(names, incl_bwd, device, remove_batch_dim, cache=cache)
        self._attach(fwd, bwd)


def _as_slice(pos_slice: Any) -> Optional[Union[slice, int, torch.Tensor]]:
    if pos_slice is None:
        return None
    if hasattr(pos_slice, "slice"):  # utils.Slice
        return pos_slice.slice
    if isinstance(pos_slice, (list, tuple)):
        if len(pos_slice) in (2, 3) and all(isinstance(v, (int, type(None))) for v in pos_slice):
            return slice(*pos_slice)
        return torch.tensor(pos_slice)
    return pos_slice


def _slice_positions(value: torch.Tensor, name: str, position_slice: Any, has_batch: bool) -> torch.Tensor:
    spec = hook_names.spec_for(name)
    if spec is None:
        return value
    dims = spec.shape if has_batch else spec.shape[1:]
    pos_dim = next((i for i, d in enumerate(dims) if d in ("pos", "query_pos")), None)
    if pos_dim is None or pos_dim >= value.ndim:
        return value
    if isinstance(position_slice, int):
        position_slice = slice(position_slice, position_slice + 1 if position_slice != -1 else None)
    index: list[Any] = [slice(None)] * value.ndim
    index[pos_dim] = position_slice
    return value[tuple(index)]
