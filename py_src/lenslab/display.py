"""``lenslab.show`` and the rich display of caches and patching results in Jupyter.

The core (``transformer_lens``) never imports this module or any Jupyter code. Instead,
importing ``lenslab`` inside a Jupyter kernel registers IPython formatters *by type name*
(``for_type_by_name``), so an ``ActivationCache`` left as the last expression of a cell
shows the cache explorer, and a patching result shows the patching grid. Outside a
kernel (a terminal, a script) nothing is registered and objects keep their plain text.

This module imports nothing heavy at module level: ``import lenslab`` stays fast.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from lenslab._kernel import kernel_shell

#: The class displayed as a CacheExplorer (module and name, as IPython looks them up).
CACHE_TYPE = ("transformer_lens.activation_cache", "ActivationCache")
#: The tensor type patching functions return (``transformer_lens.sweeps.PatchingResult``): it
#: carries its sweep spec, so it displays as a patching grid; every other tensor keeps its repr.
RESULT_TYPE = ("transformer_lens.sweeps", "PatchingResult")
#: The function name a result reports (``result.patching_kind``), e.g. "get_act_patch_resid_pre";
#: also read from any object that sets it, as earlier versions tagged plain tensors.
PATCHING_KIND_ATTR = "patching_kind"
#: Passed as kind= to show an array as attention patterns.
ATTENTION_KIND = "attention"


def looks_like_attention(arr: Any) -> bool:
    """True for ``[heads, dest, src]`` / ``[batch, heads, dest, src]`` arrays whose rows are distributions."""
    import numpy as np

    from lenslab.widgets._tensor_payload import to_numpy

    a = to_numpy(arr, "array")
    if a.ndim not in (3, 4) or a.shape[-1] != a.shape[-2] or a.size == 0 or a.dtype.kind != "f":
        return False
    if not np.isfinite(a).all() or a.min() < -1e-6:
        return False
    return bool(np.allclose(a.sum(axis=-1), 1.0, atol=1e-3))


def to_widget(obj: Any, **kwargs: Any) -> Any:
    """The widget for `obj`: CacheExplorer, AttentionPatterns or PatchingGrid.

    * an ActivationCache (or dict of hook name -> tensor) -> ``CacheExplorer(obj, **kwargs)``;
    * a tensor with ``kind="attention"``, or shaped like attention patterns (rows summing to 1)
      -> ``AttentionPatterns(tokens, obj, **kwargs)``;
    * any other tensor -> ``PatchingGrid(obj, **kwargs)``: a patching result's layout comes from
      ``kind=`` or its sweep spec; a tensor with neither is a plain tensor (kind ``"tensor"``):
      titled by its shape, axes ``dim0``, ``dim1``, ... (or ``dims=``) labelled by index;
    * a LensLab widget is returned unchanged.
    """
    from lenslab.widgets._base import LensWidget
    from lenslab.widgets.attention import AttentionPatterns, is_cache_like
    from lenslab.widgets.cache_explorer import CacheExplorer
    from lenslab.widgets.patching_grid import PatchingGrid

    if isinstance(obj, LensWidget):
        if kwargs:
            raise TypeError(f"{type(obj).__name__} is already a widget; options ({', '.join(kwargs)}) cannot be applied to it")
        return obj
    if is_cache_like(obj):
        return CacheExplorer(obj, **kwargs)
    if hasattr(obj, "shape"):
        kind = kwargs.pop("kind", None) or getattr(obj, PATCHING_KIND_ATTR, None)
        if kind == ATTENTION_KIND or (kind is None and looks_like_attention(obj)):
            return AttentionPatterns(kwargs.pop("tokens", None), obj, **kwargs)
        if kind is None:
            # Not a patching result: neutral axes (dim0, dim1, ... by index), not guessed layers and heads.
            kind = "tensor"
        return PatchingGrid(obj, kind=kind, **kwargs)
    raise TypeError(
        f"lenslab.show cannot display a {type(obj).__name__}; pass an ActivationCache, "
        "an attention pattern [heads, dest, src] or a patching result"
    )


def show(
    obj: Any, *more: Any, same_scale: Optional[bool] = None, titles: Optional[Sequence[str]] = None, **kwargs: Any
) -> None:
    """Displays `obj` as the matching LensLab widget (see `to_widget` for the dispatch).

    ``show(a, b, ...)`` shows the objects side by side (``SideBySide``); patching grids there
    share one symmetric colour scale unless ``same_scale=False``, so they compare by eye.
    ``titles`` gives each object its title; the other options apply to every object.

    Use the widget classes directly (or `to_widget`) to keep a handle on the widget, e.g. to
    observe ``PatchingGrid.selected``.
    """
    from IPython.display import display

    objs = (obj, *more)
    if titles is not None:
        titles = [str(t) for t in titles]
        if len(titles) != len(objs):
            raise ValueError(f"titles has {len(titles)} entries for {len(objs)} objects to show")
    if len(objs) == 1 and same_scale is not None:
        raise TypeError("same_scale= compares two or more objects: pass them all, e.g. lenslab.show(a, b, same_scale=True)")
    widgets = [to_widget(o, **kwargs, **({"title": titles[i]} if titles is not None else {})) for i, o in enumerate(objs)]
    if len(widgets) == 1:
        display(widgets[0])  # type: ignore[no-untyped-call]  # IPython ships no types
        return
    from lenslab.widgets.side_by_side import SideBySide

    display(SideBySide(*widgets, same_scale=same_scale))  # type: ignore[no-untyped-call]


def _bundle_for(obj: Any, widget_factory: Any) -> Optional[tuple[dict[str, Any], dict[str, Any]]]:
    """The widget mimebundle, with the object's own repr as its text/plain fallback."""
    try:
        widget = widget_factory()
    except (TypeError, ValueError, KeyError):
        return None  # input the widgets refuse: the plain repr is the honest display
    data, metadata = widget._repr_mimebundle_()
    data = dict(data)
    data["text/plain"] = repr(obj)
    return data, metadata


def _cache_mimebundle(obj: Any) -> Optional[tuple[dict[str, Any], dict[str, Any]]]:
    def make() -> Any:
        from lenslab.widgets.cache_explorer import CacheExplorer

        return CacheExplorer(obj)

    return _bundle_for(obj, make)


def _result_mimebundle(obj: Any) -> Optional[tuple[dict[str, Any], dict[str, Any]]]:
    sweep = getattr(obj, "sweep", None)
    if sweep is None:
        return None

    def make() -> Any:
        from lenslab.widgets.patching_grid import PatchingGrid

        return PatchingGrid(obj, kind=sweep.name)

    return _bundle_for(obj, make)


_PRINTERS = ((CACHE_TYPE, _cache_mimebundle), (RESULT_TYPE, _result_mimebundle))


def register_formatters(ip: Any = None) -> bool:
    """Registers the rich displays with the running kernel's IPython (idempotent).

    Returns False (and does nothing) outside a Jupyter kernel.
    """
    shell = kernel_shell(ip)
    if shell is None:
        return False
    formatter = shell.display_formatter.mimebundle_formatter
    for (module, name), printer in _PRINTERS:
        formatter.for_type_by_name(module, name, printer)
    return True


def unregister_formatters(ip: Any = None) -> None:
    """Removes what `register_formatters` added (objects show their plain repr again)."""
    shell = kernel_shell(ip)
    if shell is None:
        return
    formatter = shell.display_formatter.mimebundle_formatter
    for (module, name), printer in _PRINTERS:
        current = formatter.pop(f"{module}.{name}", None)
        if current is not None and current is not printer:
            formatter.for_type_by_name(module, name, current)  # someone else's: put it back
