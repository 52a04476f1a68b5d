"""Hook points: identity modules that let user functions read or replace activations.

A ``HookPoint`` keeps its own hook functions instead of using torch's module hooks: the
no-hook path is then two cheap checks, ``prepend`` is trivial, and a backward hook is a
tensor hook on exactly the activation the forward hook saw.

Two kinds of hooks (docs/hooks.md, "Hooks and threads"):

- **Global** hooks (``add_hook``, ``add_perma_hook``, ``cache_all``/``cache_some``) live on
  the hook point and fire for every forward pass, in every thread, until removed.
- **Scoped** hooks (``run_with_hooks``, ``run_with_cache``, ``hooks()``, the patching engine)
  fire only for forward passes run in the context (thread, asyncio task) that added them, and
  only until that call or ``with`` block ends. They live in a ``contextvars.ContextVar``, so
  two threads can hook and run one model at the same time without seeing each other's hooks.
"""

from __future__ import annotations

import itertools
import threading
import warnings
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Literal, Optional, Sequence, Union

import torch
import torch.nn as nn

from transformer_lens import hook_names
from transformer_lens._not_provided import NotProvidedError

HookFunction = Callable[..., Optional[torch.Tensor]]
NamesFilter = Union[None, str, Sequence[str], Callable[[str], bool]]
Direction = Literal["fwd", "bwd"]

_handle_ids = itertools.count()
# Guards the copy-on-write updates of every hook point's global hooks (readers need no lock).
_global_hooks_lock = threading.Lock()


@dataclass(eq=False)
class LensHandle:
    """A handle to one added hook; ``remove()`` detaches it (a second call does nothing).

    ``scoped`` is True for a hook that fires only in the context that added it (see the
    module docstring); ``check_output`` is False for a hook allowed to return a tensor of
    another shape or dtype (or anything at all).
    """

    hook_point: "HookPoint"
    fn: HookFunction
    dir: Direction
    is_permanent: bool = False
    context_level: Optional[int] = None
    check_output: bool = True
    scoped: bool = False

    def __post_init__(self) -> None:
        self.id = next(_handle_ids)

    def remove(self) -> None:
        self.hook_point._remove_handle(self)

    @property
    def user_hook(self) -> HookFunction:
        """The function that was added (upstream 3.x's name for it)."""
        return self.fn

    @property
    def hook(self) -> "LensHandle":
        """Upstream's torch handle of this hook; here the handle itself (``handle.hook.remove()`` works)."""
        return self


class _HookScope:
    """The scoped hooks visible in one context: a parent's hooks plus those of one call.

    Each scope holds the flattened hooks of its whole chain (tuples, replaced on change), so a
    forward pass does one dict lookup per hook point; removing a handle edits the chain.
    """

    __slots__ = ("parent", "hooks")

    def __init__(self, parent: Optional["_HookScope"], handles: Sequence[LensHandle]) -> None:
        self.parent = parent
        self.hooks: dict[tuple[HookPoint, str], tuple[LensHandle, ...]] = dict(parent.hooks) if parent else {}
        for handle in handles:
            key = (handle.hook_point, handle.dir)
            self.hooks[key] = (*self.hooks.get(key, ()), handle)

    def chain(self) -> Iterator["_HookScope"]:
        scope: Optional[_HookScope] = self
        while scope is not None:
            yield scope
            scope = scope.parent

    def filter(self, hook_point: "HookPoint", dir: str, keep: Callable[[LensHandle], bool]) -> None:
        """Drop the handles ``keep`` rejects from this scope and its parents."""
        key = (hook_point, dir)
        for scope in self.chain():
            handles = scope.hooks.get(key)
            if handles:
                scope.hooks[key] = tuple(h for h in handles if keep(h))


#: The scoped hooks of the current context (None: none, the common case).
_active_scope: ContextVar[Optional[_HookScope]] = ContextVar("transformer_lens_hook_scope", default=None)
_current_scope = _active_scope.get  # bound once: HookPoint.forward calls it on every pass


class HookOutputError(ValueError):
    """A forward hook returned something that cannot replace the activation it was given."""


class HookPoint(nn.Module):
    """Identity module that calls its forward hooks on the activation passing through.

    ``fwd_hooks`` / ``bwd_hooks`` list the hooks that fire for a forward pass run from the
    current context: the global ones (every thread), then this context's scoped ones.
    ``ctx`` is one dict shared by every thread; hooks may keep state in it.
    """

    def __init__(self) -> None:
        super().__init__()
        # Global hooks, as tuples replaced on change, so a forward in another thread always
        # iterates over a consistent snapshot.
        self._global_fwd: tuple[LensHandle, ...] = ()
        self._global_bwd: tuple[LensHandle, ...] = ()
        self.ctx: dict[Any, Any] = {}
        self.name: Optional[str] = None

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Models pickled before scoped hooks kept the global hooks in fwd_hooks/bwd_hooks lists.
        state = dict(state)
        state.setdefault("_global_fwd", tuple(state.pop("fwd_hooks", ())))
        state.setdefault("_global_bwd", tuple(state.pop("bwd_hooks", ())))
        super().__setstate__(state)

    # ---- what fires here -----------------------------------------------------------------
    def _visible(self, dir: Direction) -> tuple[LensHandle, ...]:
        """The hooks a forward pass from the current context runs: global, then scoped."""
        handles = self._global_fwd if dir == "fwd" else self._global_bwd
        scope = _active_scope.get()
        if scope is not None:
            scoped = scope.hooks.get((self, dir))
            if scoped:
                return handles + scoped
        return handles

    @property
    def fwd_hooks(self) -> list[LensHandle]:
        """Forward hooks that fire for a forward pass from this context (global, then scoped)."""
        return list(self._visible("fwd"))

    @fwd_hooks.setter
    def fwd_hooks(self, handles: Sequence[LensHandle]) -> None:
        self._replace_visible("fwd", handles)

    @property
    def bwd_hooks(self) -> list[LensHandle]:
        """Backward hooks that a forward pass from this context registers on its activation."""
        return list(self._visible("bwd"))

    @bwd_hooks.setter
    def bwd_hooks(self, handles: Sequence[LensHandle]) -> None:
        self._replace_visible("bwd", handles)

    def _replace_visible(self, dir: Direction, handles: Sequence[LensHandle]) -> None:
        """``hook_point.fwd_hooks = [...]``: keep exactly these of the visible hooks; any other
        handle becomes a global hook."""
        wanted = list(handles)
        ids = {id(h) for h in wanted}
        scope = _active_scope.get()
        scoped = {id(h) for h in (scope.hooks.get((self, dir), ()) if scope else ())}
        if scope is not None:
            scope.filter(self, dir, lambda h: id(h) in ids)
        self._set_global(dir, tuple(h for h in wanted if id(h) not in scoped))

    def _set_global(self, dir: Direction, handles: tuple[LensHandle, ...]) -> None:
        if dir == "fwd":
            self._global_fwd = handles
        else:
            self._global_bwd = handles

    # ---- adding and removing -------------------------------------------------------------
    def add_hook(
        self,
        hook: HookFunction,
        dir: Direction = "fwd",
        is_permanent: bool = False,
        level: Optional[int] = None,
        prepend: bool = False,
        check_output: bool = True,
    ) -> LensHandle:
        """Attach ``hook(activation, hook=self)`` as a global hook; a non-None return value
        replaces the activation.

        A global hook fires for every forward pass, in every thread, until it is removed
        (``handle.remove()``, ``reset_hooks()``; a permanent one only with
        ``including_permanent=True``). For a hook that only your own call sees, use
        ``run_with_hooks`` or ``hooks()``.

        The value a forward hook returns must be a tensor of the activation's shape, dtype
        and device, or a one-line ``HookOutputError`` names the hook; ``check_output=False``
        lets a hook return anything (upstream TransformerLens checks nothing).
        """
        with _global_hooks_lock:
            handle = self._new_handle(hook, dir, is_permanent, level, check_output, scoped=False)
            current = self._global_fwd if dir == "fwd" else self._global_bwd
            self._set_global(dir, (handle, *current) if prepend else (*current, handle))
        return handle

    def _new_handle(
        self, hook: HookFunction, dir: Direction, is_permanent: bool, level: Optional[int], check_output: bool, scoped: bool
    ) -> LensHandle:
        if dir not in ("fwd", "bwd"):
            raise ValueError(f"dir must be 'fwd' or 'bwd', got {dir!r}")
        if not callable(hook):
            raise TypeError(f"hook for {self.name!r} must be callable, got {type(hook).__name__}")
        return LensHandle(self, hook, dir, is_permanent, level, check_output, scoped)

    def _remove_handle(self, handle: LensHandle) -> None:
        keep = lambda h: h is not handle  # noqa: E731
        if handle.scoped:
            scope = _active_scope.get()
            if scope is not None:
                scope.filter(self, handle.dir, keep)
            return
        with _global_hooks_lock:
            current = self._global_fwd if handle.dir == "fwd" else self._global_bwd
            self._set_global(handle.dir, tuple(h for h in current if keep(h)))

    def remove_hooks(
        self,
        dir: Literal["fwd", "bwd", "both"] = "fwd",
        including_permanent: bool = False,
        level: Optional[int] = None,
    ) -> None:
        """Remove the global hooks and this context's scoped hooks (never another thread's)."""

        def keep(handle: LensHandle) -> bool:
            if handle.is_permanent and not including_permanent:
                return True
            return level is not None and handle.context_level != level

        scope = _active_scope.get()
        for direction in ("fwd", "bwd"):
            if dir not in (direction, "both"):
                continue
            with _global_hooks_lock:
                current = self._global_fwd if direction == "fwd" else self._global_bwd
                self._set_global(direction, tuple(h for h in current if keep(h)))  # type: ignore[arg-type]
            if scope is not None:
                scope.filter(self, direction, keep)

    def clear_context(self) -> None:
        self.ctx.clear()

    def layer(self) -> int:
        """Block index this hook point lives in (error for model-level hooks)."""
        layer = hook_names.layer_of(self.name or "")
        if layer is None:
            raise ValueError(f"Hook point {self.name!r} is not inside a block")
        return layer

    # ---- the forward pass ----------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fwd, bwd = self._global_fwd, self._global_bwd
        scope = _current_scope()
        if scope is not None:
            hooks = scope.hooks
            scoped = hooks.get((self, "fwd"))
            if scoped:
                fwd = fwd + scoped
            scoped = hooks.get((self, "bwd"))
            if scoped:
                bwd = bwd + scoped
        elif not fwd and not bwd:
            return x  # the common case: no hook at all
        for handle in fwd:
            out = handle.fn(x, hook=self)
            if out is not None:
                if handle.check_output and out is not x:
                    self._check_output(out, x)
                x = out
        if bwd and isinstance(x, torch.Tensor) and x.requires_grad:
            for handle in bwd:
                x.register_hook(self._grad_hook(handle.fn))
        return x

    def _check_output(self, out: Any, x: torch.Tensor) -> None:
        """A replacement must fit where the activation goes: same shape, dtype and device."""
        opt_out = "return None to keep it, or add the hook with check_output=False to change it on purpose"
        if not isinstance(out, torch.Tensor):
            raise HookOutputError(
                f"Hook {self.name!r} returned a {type(out).__name__}; expected a tensor of shape {tuple(x.shape)} "
                f"and dtype {x.dtype} to replace the activation ({opt_out})"
            )
        if out.shape != x.shape:
            raise HookOutputError(
                f"Hook {self.name!r} returned shape {tuple(out.shape)}; expected {tuple(x.shape)}, "
                f"the shape of the activation it was given ({opt_out})"
            )
        if out.dtype != x.dtype:
            raise HookOutputError(
                f"Hook {self.name!r} returned dtype {out.dtype}; expected {x.dtype}, "
                f"the dtype of the activation it was given ({opt_out})"
            )
        if out.device != x.device:
            raise HookOutputError(
                f"Hook {self.name!r} returned a tensor on {out.device}; expected {x.device}, "
                f"where the activation it was given lives ({opt_out})"
            )

    def _grad_hook(self, fn: HookFunction) -> Callable[[torch.Tensor], Optional[torch.Tensor]]:
        return lambda grad: fn(grad, hook=self)

    def extra_repr(self) -> str:
        """``name='...'`` and how many hooks a forward pass from this context runs here, e.g. ``2 fwd``."""
        parts = [f"name={self.name!r}"] if self.name is not None else []
        for dir in ("fwd", "bwd"):
            count = len(self._visible(dir))  # type: ignore[arg-type]
            if count:
                parts.append(f"{count} {dir}")
        return ", ".join(parts)

    # ---- upstream's remaining HookPoint API ------------------------------------------------
    def add_perma_hook(self, hook: HookFunction, dir: Direction = "fwd") -> LensHandle:
        """A global hook that ``remove_hooks``/``reset_hooks`` keep unless ``including_permanent=True``."""
        return self.add_hook(hook, dir=dir, is_permanent=True)

    def has_hooks(
        self, dir: Literal["fwd", "bwd", "both"] = "both", including_permanent: bool = True, level: Optional[int] = None
    ) -> bool:
        """Whether a forward pass from this context would run any hook here (global or this context's scoped ones).

        ``including_permanent=False`` ignores permanent hooks; ``level`` counts only hooks added at that level.
        """
        if dir not in ("fwd", "bwd", "both"):
            raise ValueError(f"dir must be 'fwd', 'bwd' or 'both', got {dir!r}")
        directions = ("fwd", "bwd") if dir == "both" else (dir,)
        return any(
            (including_permanent or not handle.is_permanent) and (level is None or handle.context_level == level)
            for direction in directions
            for handle in self._visible(direction)  # type: ignore[arg-type]
        )

    def enable_reshape(self, hook_conversion: Any = None) -> None:
        raise NotProvidedError(
            "HookPoint.enable_reshape is not provided by LensLab: it converts TransformerBridge activations, "
            "and LensLab's hook points always hold TransformerLens-shaped tensors"
        )


class HookIntrospectionMixin:
    """``list_hooks()`` for any class with a ``hook_dict`` of hook points (upstream 3.x's mixin)."""

    hook_dict: dict[str, HookPoint]

    def list_hooks(
        self,
        name_filter: NamesFilter = None,
        dir: Literal["fwd", "bwd", "both"] = "both",
        including_permanent: bool = True,
    ) -> dict[str, list[LensHandle]]:
        """``{hook name: [handles]}`` of the hooks a forward pass from this context would run; hook points
        with none are left out. ``name_filter``: a name, a list of names or a predicate."""
        if dir not in ("fwd", "bwd", "both"):
            raise ValueError(f"dir must be 'fwd', 'bwd' or 'both', got {dir!r}")
        if name_filter is None:
            wanted: Callable[[str], bool] = lambda name: True  # noqa: E731
        elif callable(name_filter):
            wanted = name_filter
        else:
            names = {name_filter} if isinstance(name_filter, str) else set(name_filter)
            wanted = names.__contains__
        directions = ("fwd", "bwd") if dir == "both" else (dir,)
        listed: dict[str, list[LensHandle]] = {}
        for name, hook_point in self.hook_dict.items():
            if not wanted(name):
                continue
            handles = [
                handle
                for direction in directions
                for handle in hook_point._visible(direction)  # type: ignore[arg-type]
                if including_permanent or not handle.is_permanent
            ]
            if handles:
                listed[name] = handles
        return listed


class HookedRootModule(HookIntrospectionMixin, nn.Module):
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
        check_output: bool = True,
    ) -> list[LensHandle]:
        """Attach ``hook`` to the named hook point, or to every hook point the filter accepts.

        These are global hooks: they fire for every forward pass of the model, in every thread,
        until ``reset_hooks()`` (or, with ``is_permanent=True``, ``reset_hooks(including_permanent=True)``)
        or ``handle.remove()``. ``run_with_hooks`` and ``hooks()`` add hooks that only the
        calling thread's forward passes see. ``check_output=False`` lets the hook return a
        tensor of another shape or dtype (see ``HookPoint.add_hook``).
        """
        hook_points = self._resolve_hook_points(name)
        for hook_point in hook_points:
            self.check_hooks_to_add(hook_point, hook_point.name or "", hook, dir=dir, is_permanent=is_permanent, prepend=prepend)
        return [
            hook_point.add_hook(hook, dir=dir, is_permanent=is_permanent, level=level, prepend=prepend, check_output=check_output)
            for hook_point in hook_points
        ]

    def add_perma_hook(self, name: Union[str, Callable[[str], bool]], hook: HookFunction, dir: Direction = "fwd") -> list[LensHandle]:
        """A global hook that ``reset_hooks()`` keeps (unless ``including_permanent=True``)."""
        return self.add_hook(name, hook, dir=dir, is_permanent=True)

    # Upstream's helpers for hooks added at the current context level (``self.context_level``,
    # which code written against upstream sets while it runs nested hook contexts).
    def _enable_hook_with_name(self, name: str, hook: HookFunction, dir: Direction) -> None:
        self._enable_hooks_for_points([(name, self.mod_dict[name])], lambda _: True, hook, dir)

    def _enable_hooks_for_points(
        self, hook_points: Iterable[tuple[str, HookPoint]], enabled: Callable[[str], bool], hook: HookFunction, dir: Direction
    ) -> None:
        level = getattr(self, "context_level", None)
        for name, hook_point in hook_points:
            if enabled(name):
                hook_point.add_hook(hook, dir=dir, level=level)

    def _enable_hook(self, name: Union[str, Callable[[str], bool]], hook: HookFunction, dir: Direction) -> None:
        """``name`` a hook point's name, or a filter over every hook point's name."""
        if isinstance(name, str):
            self._enable_hook_with_name(name, hook, dir)
        else:
            self._enable_hooks_for_points(self.hook_dict.items(), name, hook, dir)

    def remove_all_hook_fns(
        self,
        direction: Literal["fwd", "bwd", "both"] = "both",
        including_permanent: bool = False,
        level: Optional[int] = None,
    ) -> None:
        """Remove the global hooks and this context's scoped hooks (another thread's run is untouched)."""
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
        """Remove the non-permanent global hooks, and the scoped hooks of the current context."""
        if clear_contexts:
            self.clear_contexts()
        self.remove_all_hook_fns(direction, including_permanent, level=level)

    def _resolve(
        self,
        fwd_hooks: Sequence[tuple[Union[str, Callable[[str], bool]], HookFunction]],
        bwd_hooks: Sequence[tuple[Union[str, Callable[[str], bool]], HookFunction]],
    ) -> list[tuple[HookPoint, HookFunction, Direction]]:
        """Every (hook point, function, direction), all resolved and checked before anything is attached."""
        resolved = [
            (hook_point, fn, direction)
            for direction, pairs in (("fwd", fwd_hooks), ("bwd", bwd_hooks))
            for target, fn in pairs
            for hook_point in self._resolve_hook_points(target)
        ]
        for hook_point, fn, direction in resolved:
            self.check_hooks_to_add(hook_point, hook_point.name or "", fn, dir=direction)  # type: ignore[arg-type]
        return resolved  # type: ignore[return-value]

    def _attach(
        self,
        fwd_hooks: Sequence[tuple[Union[str, Callable[[str], bool]], HookFunction]],
        bwd_hooks: Sequence[tuple[Union[str, Callable[[str], bool]], HookFunction]],
    ) -> list[LensHandle]:
        """Add all hooks as global hooks, or none: every target is resolved first."""
        return [hook_point.add_hook(fn, dir=direction) for hook_point, fn, direction in self._resolve(fwd_hooks, bwd_hooks)]

    @contextmanager
    def _scoped(
        self,
        fwd_hooks: Sequence[tuple[Union[str, Callable[[str], bool]], HookFunction]],
        bwd_hooks: Sequence[tuple[Union[str, Callable[[str], bool]], HookFunction]],
        keep_after: bool = False,
        check_output: bool = True,
    ) -> Iterator[list[LensHandle]]:
        """Hooks that fire only in this context, until the block ends (even after an error).

        ``keep_after=True`` (``reset_hooks_end=False``) turns the ones still attached at the
        end into global hooks, so they outlive the call as upstream's do.
        """
        resolved = self._resolve(fwd_hooks, bwd_hooks)
        handles = [hp._new_handle(fn, direction, False, None, check_output, scoped=True) for hp, fn, direction in resolved]
        parent = _active_scope.get()
        scope = _HookScope(parent, handles)
        _active_scope.set(scope)
        try:
            yield handles
        finally:
            # set (not reset with a token): a generator-based block may end in a copied context.
            _active_scope.set(parent)
            if keep_after:
                for handle in handles:
                    if any(h is handle for h in scope.hooks.get((handle.hook_point, handle.dir), ())):
                        handle.scoped = False
                        with _global_hooks_lock:
                            hp = handle.hook_point
                            current = hp._global_fwd if handle.dir == "fwd" else hp._global_bwd
                            hp._set_global(handle.dir, (*current, handle))

    @contextmanager
    def hooks(
        self,
        fwd_hooks: Sequence[tuple[Union[str, Callable[[str], bool]], HookFunction]] = (),
        bwd_hooks: Sequence[tuple[Union[str, Callable[[str], bool]], HookFunction]] = (),
        reset_hooks_end: bool = True,
        clear_contexts: bool = False,
        check_output: bool = True,
    ) -> Iterator["HookedRootModule"]:
        """Context manager: hooks that fire for the forward passes run inside the block, in this
        thread (or asyncio task) only, and are gone when it ends, even after an error.

        Backward hooks are registered on the activations of forward passes inside the block,
        so ``loss.backward()`` inside the block reaches them. Another thread running the same
        model meanwhile sees none of these hooks. With ``reset_hooks_end=False`` the hooks
        become global hooks when the block ends (remove them with ``reset_hooks()``).
        ``check_output=False`` lets the hooks return tensors of another shape or dtype.
        """
        with self._scoped(fwd_hooks, bwd_hooks, keep_after=not reset_hooks_end, check_output=check_output):
            try:
                yield self
            finally:
                if clear_contexts:
                    self.clear_contexts()

    def run_with_hooks(
        self,
        *model_args: Any,
        fwd_hooks: Sequence[tuple[Union[str, Callable[[str], bool]], HookFunction]] = (),
        bwd_hooks: Sequence[tuple[Union[str, Callable[[str], bool]], HookFunction]] = (),
        reset_hooks_end: bool = True,
        clear_contexts: bool = False,
        check_output: bool = True,
        **model_kwargs: Any,
    ) -> Any:
        """Run the model with temporary hooks; returns the model's output.

        The hooks fire for this forward pass only: other threads running the model meanwhile
        do not see them (see ``hooks()``).
        """
        if bwd_hooks and reset_hooks_end:
            warnings.warn(
                "bwd_hooks are removed when run_with_hooks returns, before any backward pass can reach them: "
                "pass reset_hooks_end=False and call model.reset_hooks() after .backward()",
                stacklevel=2,
            )
        with self.hooks(fwd_hooks, bwd_hooks, reset_hooks_end, clear_contexts, check_output):
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

        The caching hooks are scoped to this call: another thread's forward passes on the same
        model are neither cached nor slowed down.

        With ``incl_bwd=True`` the output must be a scalar-reducible tensor: ``output.backward()``
        is called and gradients are stored under ``"<hook name>_grad"``.
        """
        cache, fwd, bwd = self.get_caching_hooks(
            names_filter, incl_bwd, device, remove_batch_dim=remove_batch_dim, pos_slice=pos_slice
        )
        with self._scoped(fwd, bwd, keep_after=not reset_hooks_end):
            try:
                output = self(*model_args, **model_kwargs)
                if incl_bwd:
                    output.backward()
            finally:
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
        """Store activations whose names pass ``names`` into ``cache`` until ``reset_hooks()``:
        global hooks, so every thread's forward passes write to ``cache``."""
        _, fwd, bwd = self.get_caching_hooks(names, incl_bwd, device, remove_batch_dim, cache=cache)
        self._attach(fwd, bwd)


    # ---- upstream's remaining HookedRootModule API -------------------------------------------
    def check_hooks_to_add(
        self,
        hook_point: HookPoint,
        hook_point_name: str,
        hook: HookFunction,
        dir: Direction = "fwd",
        is_permanent: bool = False,
        prepend: bool = False,
    ) -> None:
        """Called before any hook is attached (global or scoped); raise here to refuse it. Accepts all."""

    def check_and_add_hook(
        self,
        hook_point: HookPoint,
        hook_point_name: str,
        hook: HookFunction,
        dir: Direction = "fwd",
        is_permanent: bool = False,
        level: Optional[int] = None,
        prepend: bool = False,
    ) -> LensHandle:
        """``check_hooks_to_add``, then attach ``hook`` to ``hook_point`` as a global hook."""
        self.check_hooks_to_add(hook_point, hook_point_name, hook, dir=dir, is_permanent=is_permanent, prepend=prepend)
        return hook_point.add_hook(hook, dir=dir, is_permanent=is_permanent, level=level, prepend=prepend)

    def add_caching_hooks(
        self,
        names_filter: NamesFilter = None,
        incl_bwd: bool = False,
        device: Union[str, torch.device, None] = None,
        remove_batch_dim: bool = False,
        cache: Optional[dict] = None,
    ) -> dict:
        """Global hooks that store activations (and with ``incl_bwd`` gradients) into ``cache``, returned;
        the model is not run. They stay until ``reset_hooks()``."""
        cache = {} if cache is None else cache
        _, fwd, bwd = self.get_caching_hooks(names_filter, incl_bwd, device, remove_batch_dim, cache=cache)
        self._attach(fwd, bwd)
        return cache


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
