"""Upstream's ``transformer_lens.utilities.aliases``: old hook names that point at new ones.

A module may carry ``hook_aliases``, a dict from an alias to the dotted name of what it stands
for (or a list of candidate names, the first that exists wins). The empty alias ``""`` names the
module itself, for caches keyed by the module's path. LensLab's own models keep their hook names
stable and define no aliases; these helpers serve code (and models) that do.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional, Union

Aliases = dict[str, Union[str, list[str]]]

# Model-level hooks that keep their bare name wherever their module sits.
_TOP_LEVEL = ("hook_embed", "hook_pos_embed")
# Children that wrap a foreign (Hugging Face) model: its modules are not ours to alias.
_FOREIGN = ("original_model", "_original_component")


def _follow(target_object: Any, dotted: str) -> Any:
    current = target_object
    for part in dotted.split("."):
        if not hasattr(current, part):
            raise AttributeError(f"'{type(current).__name__}' object has no attribute '{part}'")
        current = getattr(current, part)
    return current


def resolve_alias(target_object: Any, requested_name: str, aliases: Aliases) -> Optional[Any]:
    """What ``requested_name`` stands for on ``target_object``; None when it is not an alias.

    Warns (``FutureWarning``) that the alias is deprecated when the object has
    ``disable_warnings = False``. A missing target raises ``AttributeError``.
    """
    if requested_name not in aliases:
        return None
    target = aliases[requested_name]
    if getattr(target_object, "disable_warnings", None) is False:
        warnings.warn(
            f"Hook '{requested_name}' is deprecated and will be removed in a future version. Use '{target}' instead.",
            FutureWarning,
            stacklevel=2,
        )
    if not isinstance(target, list):
        return _follow(target_object, target)
    for candidate in target:
        try:
            return _follow(target_object, candidate)
        except AttributeError:
            continue
    raise AttributeError(f"None of the target names {target} could be resolved on '{type(target_object).__name__}' object")


def _collect_aliases_from_module(module: Any, path: str, aliases: dict[str, str], visited: Optional[set] = None) -> None:
    """Add the aliases of ``module`` (at dotted ``path``) and of its children to ``aliases``; each
    module once (``visited`` holds the ids seen, so shared or cyclic modules end the walk)."""
    visited = set() if visited is None else visited
    if id(module) in visited:
        return
    visited.add(id(module))
    if hasattr(module, "hook_aliases"):
        for alias, target in module.hook_aliases.items():
            full_target = f"{path}.{target}" if path else target
            if alias == "":
                if path:
                    aliases[path] = full_target
            elif path and alias not in _TOP_LEVEL:
                aliases[f"{path}.{alias}"] = full_target
            else:
                aliases[alias] = full_target
    if hasattr(module, "named_children"):
        for name, child in module.named_children():
            if name in _FOREIGN:
                continue
            _collect_aliases_from_module(child, f"{path}.{name}" if path else name, aliases, visited)


def collect_aliases_recursive(module: Any, prefix: str = "") -> dict[str, str]:
    """Every alias under ``module``, by full dotted name: hook aliases and module (cache) aliases."""
    aliases: dict[str, str] = {}
    _collect_aliases_from_module(module, prefix, aliases, set())
    return aliases
