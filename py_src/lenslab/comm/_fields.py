"""Dataclass fields <-> JSON: JSON Schema from type hints and their constraints, and validation by it.

The protocol's messages are dataclasses whose fields are annotated with plain types (str, int,
float, bool, Optional, list, Literal, nested dataclasses) and, through ``Annotated``, with the
constraints below. ``type_schema``/``object_schema`` write them as JSON Schema (the schema the
protocol exports and the TypeScript side is generated from); ``build`` validates a decoded JSON
object with ``jsonschema`` against that same schema and reports the first problem in one line.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional, TypeGuard, Union

import jsonschema


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
    """An instance of the dataclass `cls` from the JSON object `body`; raises FieldError.

    The JSON Schema of `cls` (:func:`object_schema`, the same schema the protocol exports)
    decides, through ``jsonschema``; this only turns its first error (in field order, as a
    reader goes through the message) into one line naming the field, and builds the dataclass.
    """
    problem = first_problem(_validator(cls), body, cls, where)
    if problem is not None:
        raise FieldError(problem)
    return _from_wire(cls, body)


def is_valid(hint: Any, value: Any) -> bool:
    """Whether ``value`` fits the type hint."""
    return first_problem(_validator(hint), value, hint) is None


# ---- validation with jsonschema ----------------------------------------------------------------------


def _is_int(_checker: Any, value: Any) -> bool:
    # JSON Schema counts 1.0 as an integer; a job id or count on the wire must be a JSON integer.
    return isinstance(value, int) and not isinstance(value, bool)


def _full_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    # re.fullmatch: with search/match, "$" also matches before a trailing newline ("id\n").
    if isinstance(instance, str) and _compiled(pattern).fullmatch(instance) is None:
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    validators={"pattern": _full_pattern},
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_int),
)
_VALIDATORS: dict[Any, Any] = {}


def _is_dataclass_type(hint: Any) -> TypeGuard[type]:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


def _validator(hint: Any) -> Any:
    """A (cached) jsonschema validator of the schema that ``type_schema`` writes for ``hint``."""
    key = repr(hint)
    if key not in _VALIDATORS:
        defs: dict[str, Any] = {}
        schema = object_schema(hint, defs) if _is_dataclass_type(hint) else type_schema(hint, defs)
        _VALIDATORS[key] = _Validator({**schema, "$defs": defs})
    return _VALIDATORS[key]


# Where an error sits among the checks of one value, in the order a reader meets them.
_OBJECT_RANK = {"type": -3, "additionalProperties": -2}
_LEAF_RANK = {"type": 0, "enum": 0, "surrogate": 0.5, "maxItems": 1, "maxLength": 1, "minimum": 1, "minLength": 2, "maximum": 2, "pattern": 3}


def first_problem(validator: Any, value: Any, hint: Any, root: str = "") -> Optional[str]:
    """One line naming the first problem of ``value`` (None when it is valid)."""
    candidates = [(_order(hint, e), _describe(e, root)) for e in _leaf_errors(validator.iter_errors(value))]
    candidates += [(_path_order(hint, path) + [(0, _LEAF_RANK["surrogate"])], text) for path, text in _surrogates(value, root)]
    return min(candidates, key=lambda c: c[0])[1] if candidates else None


def _leaf_errors(errors: Any) -> Any:
    """The errors, with an Optional's anyOf replaced by what its non-null branch found."""
    for e in errors:
        if e.validator == "anyOf" and e.instance is not None:
            yield from _leaf_errors(c for c in e.context if c.relative_schema_path[0] == 0)
        else:
            yield e


def _path_order(hint: Any, path: Any) -> list[tuple[float, ...]]:
    """The position of ``path`` in reading order: declared field order, then list index."""
    order: list[tuple[float, ...]] = []
    for step in path:
        base = _strip_optional(_unwrap(hint)[0])
        if dataclasses.is_dataclass(base):
            names = [f.name for f in dataclasses.fields(base)]
            order.append((1, names.index(step) if step in names else len(names)))
            hint = typing.get_type_hints(base, include_extras=True).get(step, Any)
        else:
            order.append((1, step if isinstance(step, int) else 0))
            args = typing.get_args(base)
            hint = args[0] if args else Any
    return order


def _order(hint: Any, error: Any) -> list[tuple[float, ...]]:
    order = _path_order(hint, error.absolute_path)
    if error.validator == "required":
        base = _strip_optional(_unwrap(_hint_at(hint, error.absolute_path))[0])
        names = [f.name for f in dataclasses.fields(base)]
        missing = [n for n in names if n not in error.instance]
        return order + [(1, names.index(missing[0]), -1)]
    if isinstance(error.instance, dict) and error.validator in _OBJECT_RANK:
        return order + [(0, _OBJECT_RANK[error.validator])]
    return order + [(0, _LEAF_RANK.get(error.validator, 4))]


def _hint_at(hint: Any, path: Any) -> Any:
    for step in path:
        base = _strip_optional(_unwrap(hint)[0])
        if dataclasses.is_dataclass(base):
            hint = typing.get_type_hints(base, include_extras=True)[step]
        else:
            hint = typing.get_args(base)[0]
    return hint


def _strip_optional(hint: Any) -> Any:
    if _is_optional(hint):
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return _unwrap(inner)[0]
    return hint


def _path_text(root: str, path: Any) -> str:
    text = root
    for step in path:
        text = f"{text}[{step}]" if isinstance(step, int) else (f"{text}.{step}" if text else step)
    return text


_TYPE_WORDS = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "a boolean", "array": "an array"}


def _describe(error: Any, root: str) -> str:
    """The one-line reason for a jsonschema error, naming the field by its path."""
    path = _path_text(root, error.absolute_path)
    value, schema, kind = error.instance, error.schema, error.validator
    if kind == "additionalProperties":
        unexpected = sorted(set(value) - set(schema.get("properties", {})))
        return f"unexpected field {_path_text(path, [unexpected[0]])!r}"
    if kind == "required":
        missing = [n for n in schema["required"] if n not in value]
        return f"missing field {_path_text(path, [missing[0]])!r}"
    if kind == "type":
        if schema["type"] == "object":
            return f"{path or 'message'} must be an object, got {json_type(value)}"
        return f"field {path!r} must be {_TYPE_WORDS[schema['type']]}, got {json_type(value)}"
    if kind == "enum":
        return f"field {path!r} must be one of {list(schema['enum'])}, got {_short(value)}"
    if kind == "maxItems":
        return f"field {path!r} has {len(value)} items, at most {schema['maxItems']} allowed"
    if kind == "maxLength":
        return f"field {path!r} is {len(value)} characters long, at most {schema['maxLength']} allowed"
    if kind == "minLength":
        return f"field {path!r} must not be empty"
    if kind == "pattern":
        return f"field {path!r} = {_short(value)} does not match {schema['pattern']}"
    if kind == "minimum":
        return f"field {path!r} must be >= {schema['minimum']:g}, got {value}"
    if kind == "maximum":
        return f"field {path!r} must be <= {schema['maximum']:g}, got {value}"
    return f"field {path!r}: {error.message}"


def _surrogates(value: Any, root: str, path: tuple[Any, ...] = ()) -> Any:
    """(path, reason) of each string holding a lone surrogate: JSON may carry one ("\\ud800"), but
    it is not text any tokenizer can take, and JSON Schema has no word for it."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            yield path, f"field {_path_text(root, path)!r} is not valid Unicode text: a lone surrogate {value[e.start]!a} at character {e.start}"
    elif isinstance(value, list):
        for i, x in enumerate(value):
            yield from _surrogates(x, root, (*path, i))
    elif isinstance(value, dict):
        for k, x in value.items():
            yield from _surrogates(x, root, (*path, k))


def _from_wire(hint: Any, value: Any) -> Any:
    """The dataclasses (and lists) of an already validated JSON value."""
    base = _strip_optional(_unwrap(hint)[0])
    if value is None:
        return None
    if _is_dataclass_type(base):
        hints = typing.get_type_hints(base, include_extras=True)
        return base(**{f.name: _from_wire(hints[f.name], value[f.name]) for f in dataclasses.fields(base)})
    if typing.get_origin(base) is list:
        (item,) = typing.get_args(base)
        return [_from_wire(item, x) for x in value]
    return value


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
    if _is_dataclass_type(base):
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
