"""Dataclass fields <-> JSON: validation and JSON Schema from type hints and their constraints.

The protocol's messages are dataclasses whose fields are annotated with plain types (str, int,
float, bool, Optional, list, Literal, nested dataclasses) and, through ``Annotated``, with the
constraints below. ``build`` checks a decoded JSON object against such a dataclass and
``type_schema``/``object_schema`` write the same rules as JSON Schema, so validation and the
exported schema come from one definition.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional, Union


@dataclass(frozen=True)
class Text:
    """Constraint for a string field."""

    max_length: int
    min_length: int = 0
    pattern: Optional[str] = None


@dataclass(frozen=True)
class Bounds:
    """Constraint for a number field (inclusive)."""

    minimum: Optional[float] = None
    maximum: Optional[float] = None


@dataclass(frozen=True)
class Items:
    """Constraint for a list field."""

    max_items: int


class FieldError(ValueError):
    """A value that does not fit its field; the message names the field's path."""


def build(cls: type, body: Any, where: str) -> Any:
    """An instance of the dataclass `cls` from the JSON object `body`; raises FieldError."""
    if not isinstance(body, dict):
        raise FieldError(f"{where or 'message'} must be an object, got {json_type(body)}")
    hints = typing.get_type_hints(cls, include_extras=True)
    names = [f.name for f in dataclasses.fields(cls)]
    unexpected = sorted(set(body) - set(names))
    if unexpected:
        raise FieldError(f"unexpected field {_join(where, unexpected[0])!r}")
    values = {}
    for name in names:
        path = _join(where, name)
        if name not in body:
            raise FieldError(f"missing field {path!r}")
        values[name] = check(hints[name], body[name], path)
    return cls(**values)


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def check(hint: Any, value: Any, path: str) -> Any:
    """``value`` checked against a type hint (returns it, lists as lists of checked items)."""
    base, constraints = _unwrap(hint)
    origin = typing.get_origin(base)
    if _is_optional(base):
        if value is None:
            return None
        (inner,) = [a for a in typing.get_args(base) if a is not type(None)]
        return check(Annotated[(inner, *constraints)] if constraints else inner, value, path)
    if origin is Literal:
        choices = typing.get_args(base)
        if value not in choices or isinstance(value, bool):
            raise FieldError(f"field {path!r} must be one of {list(choices)}, got {_short(value)}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise FieldError(f"field {path!r} must be an array, got {json_type(value)}")
        for c in constraints:
            if isinstance(c, Items) and len(value) > c.max_items:
                raise FieldError(f"field {path!r} has {len(value)} items, at most {c.max_items} allowed")
        (item,) = typing.get_args(base)
        return [check(item, x, f"{path}[{i}]") for i, x in enumerate(value)]
    if dataclasses.is_dataclass(base) and isinstance(base, type):
        return build(base, value, path)
    if base is str:
        if not isinstance(value, str):
            raise FieldError(f"field {path!r} must be a string, got {json_type(value)}")
        try:  # JSON may carry a lone surrogate ("\ud800"): not text any tokenizer can take
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise FieldError(f"field {path!r} is not valid Unicode text: a lone surrogate {value[e.start]!a} at character {e.start}") from None
        for c in constraints:
            if isinstance(c, Text):
                if len(value) > c.max_length:
                    raise FieldError(f"field {path!r} is {len(value)} characters long, at most {c.max_length} allowed")
                if len(value) < c.min_length:
                    raise FieldError(f"field {path!r} must not be empty")
                # fullmatch: with match, "$" also matches before a trailing newline ("id\n")
                if c.pattern is not None and _compiled(c.pattern).fullmatch(value) is None:
                    raise FieldError(f"field {path!r} = {_short(value)} does not match {c.pattern}")
        return value
    if base is bool:
        if not isinstance(value, bool):
            raise FieldError(f"field {path!r} must be a boolean, got {json_type(value)}")
        return value
    if base in (int, float):
        ok = isinstance(value, int) if base is int else isinstance(value, (int, float))
        if not ok or isinstance(value, bool):
            raise FieldError(f"field {path!r} must be {'an integer' if base is int else 'a number'}, got {json_type(value)}")
        for c in constraints:
            if isinstance(c, Bounds):
                if c.minimum is not None and value < c.minimum:
                    raise FieldError(f"field {path!r} must be >= {c.minimum:g}, got {value}")
                if c.maximum is not None and value > c.maximum:
                    raise FieldError(f"field {path!r} must be <= {c.maximum:g}, got {value}")
        return value
    raise TypeError(f"unsupported protocol type {base!r} at {path}")  # a bug in this module


def _unwrap(hint: Any) -> tuple[Any, tuple[Any, ...]]:
    if typing.get_origin(hint) is Annotated:
        base, *constraints = typing.get_args(hint)
        return base, tuple(constraints)
    return hint, ()


def _is_optional(hint: Any) -> bool:
    return typing.get_origin(hint) in (Union, types.UnionType) and type(None) in typing.get_args(hint)


_PATTERNS: dict[str, Any] = {}


def _compiled(pattern: str) -> Any:
    if pattern not in _PATTERNS:
        _PATTERNS[pattern] = re.compile(pattern)
    return _PATTERNS[pattern]


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---- JSON Schema ----------------------------------------------------------------------------------


def object_schema(cls: type, defs: dict[str, Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls, include_extras=True)
    names = [f.name for f in dataclasses.fields(cls)]
    return {
        "type": "object",
        "properties": {name: type_schema(hints[name], defs) for name in names},
        "required": names,
        "additionalProperties": False,
    }


def type_schema(hint: Any, defs: dict[str, Any]) -> dict[str, Any]:
    base, constraints = _unwrap(hint)
    if _is_optional(base):
        (inner,) = [a for a in typing.get_args(base) if a is not type(None)]
        inner_schema = type_schema(Annotated[(inner, *constraints)] if constraints else inner, defs)
        return {"anyOf": [inner_schema, {"type": "null"}]}
    origin = typing.get_origin(base)
    if origin is Literal:
        return {"enum": list(typing.get_args(base))}
    if origin is list:
        (item,) = typing.get_args(base)
        schema: dict[str, Any] = {"type": "array", "items": type_schema(item, defs)}
        for c in constraints:
            if isinstance(c, Items):
                schema["maxItems"] = c.max_items
        return schema
    if dataclasses.is_dataclass(base) and isinstance(base, type):
        if base.__name__ not in defs:
            defs[base.__name__] = {}  # placeholder against recursion
            defs[base.__name__] = object_schema(base, defs)
        return {"$ref": f"#/$defs/{base.__name__}"}
    if base is str:
        schema = {"type": "string"}
        for c in constraints:
            if isinstance(c, Text):
                schema["maxLength"] = c.max_length
                if c.min_length:
                    schema["minLength"] = c.min_length
                if c.pattern:
                    schema["pattern"] = c.pattern
        return schema
    if base is bool:
        return {"type": "boolean"}
    if base in (int, float):
        schema = {"type": "integer" if base is int else "number"}
        for c in constraints:
            if isinstance(c, Bounds):
                if c.minimum is not None:
                    schema["minimum"] = int(c.minimum) if base is int else c.minimum
                if c.maximum is not None:
                    schema["maximum"] = int(c.maximum) if base is int else c.maximum
        return schema
    raise TypeError(f"unsupported protocol type {base!r}")
