"""Per-call overrides of a model's defaults (``prepend_bos``, ``padding_side``).

``USE_DEFAULT_VALUE`` (None) as an argument means "use the model's own setting".
"""

from __future__ import annotations

from typing import Any, Optional

USE_DEFAULT_VALUE = None

# Each overridable default: where the model keeps it, and the values an override may take.
_OVERRIDABLE: dict[str, tuple[str, tuple[Any, ...]]] = {
    "prepend_bos": ("cfg.default_prepend_bos", (USE_DEFAULT_VALUE, True, False)),
    "padding_side": ("tokenizer.padding_side", (USE_DEFAULT_VALUE, "left", "right")),
}


def override_or_use_default_value(default_flag: Any, override: Optional[Any] = None) -> Any:
    """``override`` unless it is None, else ``default_flag``.

    >>> override_or_use_default_value(True, None), override_or_use_default_value(True, False)
    (True, False)
    """
    return default_flag if override is None else override


class LocallyOverridenDefaults:
    """Within the ``with`` block, the model's defaults take the given overrides; afterwards they are restored.

    >>> # with LocallyOverridenDefaults(model, prepend_bos=False, padding_side="left"): ...

    ``padding_side`` is left alone on a model without a tokenizer. An unknown name or value is an
    AssertionError, as upstream.
    """

    def __init__(self, model: Any, **overrides: Any) -> None:
        for name in overrides:
            assert name in _OVERRIDABLE, f"{name} is not a valid parameter to override. Valid parameters are {list(_OVERRIDABLE)}."
        self.model = model
        self.overrides = overrides
        self._saved: dict[str, Any] = {}

    def _applies(self, name: str) -> bool:
        return not (name == "padding_side" and getattr(self.model, "tokenizer", None) is None)

    def __enter__(self) -> "LocallyOverridenDefaults":
        from transformer_lens.utilities.attribute_utils import get_nested_attr, set_nested_attr

        for name, override in self.overrides.items():
            if not self._applies(name):
                continue
            location, valid = _OVERRIDABLE[name]
            assert override in valid, f"{name} must be one of {list(valid)}, but got {override!r}."
            current = get_nested_attr(self.model, location)
            self._saved[name] = current
            set_nested_attr(self.model, location, override_or_use_default_value(current, override))
        return self

    def __exit__(self, *exc_info: Any) -> None:
        from transformer_lens.utilities.attribute_utils import set_nested_attr

        for name, value in self._saved.items():
            set_nested_attr(self.model, _OVERRIDABLE[name][0], value)
        self._saved.clear()
