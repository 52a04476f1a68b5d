"""The JSON Schema of every widget's synced traits, read off the widget classes.

``js/src/generated/traits.ts`` (the TypeScript model interfaces the widget front ends use) is
generated from this by ``scripts/gen_traits.mjs``; ``python -m lenslab.widgets.trait_schema --write``
writes the schema fixture that script reads (``js/test/fixtures/traits.schema.json``), and
tests/lenslab/test_trait_schema.py fails when the fixture is stale.

Plain traits map to JSON types; where a trait is a free-form ``Dict``/``List(Dict)`` or a string
with a fixed set of values, ``SHAPES`` below says what the widget code puts in it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import traitlets

from lenslab.widgets._base import LensWidget
from lenslab.widgets._tensor_payload import PAYLOAD_DTYPES
from lenslab.widgets.attention import VIEW_BY, AttentionPatterns
from lenslab.widgets.cache_explorer import CacheExplorer
from lenslab.widgets.colored_tokens import ColoredTokens
from lenslab.widgets.patching_grid import PatchingGrid
from lenslab.widgets.top_examples import TopExamples

FIXTURE = Path(__file__).resolve().parents[3] / "js" / "test" / "fixtures" / "traits.schema.json"

#: The model interface of each widget class, by its TypeScript name.
WIDGETS: dict[str, type[LensWidget]] = {
    "BaseModel": LensWidget,
    "AttentionModel": AttentionPatterns,
    "CacheModel": CacheExplorer,
    "PatchingModel": PatchingGrid,
    "ColoredTokensModel": ColoredTokens,
    "TopExamplesModel": TopExamples,
}

#: Payloads the trait types do not spell out: what the widget code stores in them.
DEFS: dict[str, Any] = {
    "Cmap": {"enum": ["diverging", "sequential"]},
    "DType": {"enum": sorted(PAYLOAD_DTYPES)},
    "SliceView": {"enum": ["heatmap", "line", "pattern", "empty"]},
    "ViewBy": {"enum": list(VIEW_BY)},
    "HookInfo": {
        "description": "One row of the cache tree (cache_explorer.py: summarize).",
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "group": {"type": "string"},
            "component": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer"}},
            "dtype": {"type": "string"},
            "mean": {"type": ["number", "null"]},
            "std": {"type": ["number", "null"]},
            "norm": {"type": ["number", "null"]},
            "nonfinite": {"type": "integer"},
            "masked": {"type": "integer"},
        },
        "required": ["name", "group", "component", "shape", "dtype", "mean", "std", "norm", "nonfinite", "masked"],
        "additionalProperties": False,
    },
    "SliceControls": {
        "description": "Sizes of the slice controls; 0 means the control does not apply to this hook.",
        "type": "object",
        "properties": {"batch": {"type": "integer"}, "head": {"type": "integer"}, "pos": {"type": "integer"}},
        "required": ["batch", "head", "pos"],
        "additionalProperties": False,
    },
    "CellSelection": {
        "description": "What a click on a patching cell sends back (Python fills in labels, value and index).",
        "type": "object",
        "properties": {"panel": {"type": "integer"}, "row": {"type": "integer"}, "col": {"type": "integer"}},
        "required": ["panel", "row", "col"],
        "additionalProperties": True,
    },
}

#: (class, trait) -> schema, for the traits whose trait type says less than the code does.
SHAPES: dict[tuple[type, str], dict[str, Any]] = {
    (LensWidget, "dtype"): {"$ref": "#/$defs/DType"},
    (CacheExplorer, "view"): {"$ref": "#/$defs/SliceView"},
    (AttentionPatterns, "view_by"): {"$ref": "#/$defs/ViewBy"},
    (CacheExplorer, "hooks"): {"type": "array", "items": {"$ref": "#/$defs/HookInfo"}},
    (CacheExplorer, "controls"): {"$ref": "#/$defs/SliceControls"},
    (PatchingGrid, "selected"): {"anyOf": [{"$ref": "#/$defs/CellSelection"}, {"type": "null"}]},
    (ColoredTokens, "cmap"): {"$ref": "#/$defs/Cmap"},
    (TopExamples, "cmap"): {"$ref": "#/$defs/Cmap"},
}


def _trait_schema(trait: traitlets.TraitType) -> dict[str, Any]:
    if isinstance(trait, traitlets.Bytes):
        # anywidget hands binary traits over as a DataView (null before the first payload).
        return {"tsType": "DataView | null"}
    if isinstance(trait, traitlets.Bool):
        schema: dict[str, Any] = {"type": "boolean"}
    elif isinstance(trait, traitlets.Int):
        schema = {"type": "integer"}
    elif isinstance(trait, traitlets.Float):
        schema = {"type": "number"}
    elif isinstance(trait, traitlets.Unicode):
        schema = {"type": "string"}
    elif isinstance(trait, traitlets.List):
        item = trait._trait
        schema = {"type": "array", "items": _trait_schema(item) if item is not None else {}}
    elif isinstance(trait, traitlets.Dict):
        schema = {"type": "object"}
    else:  # a new trait type: say how it travels here
        raise TypeError(f"no JSON Schema for trait type {type(trait).__name__}")
    if trait.allow_none:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def _own_traits(cls: type[LensWidget]) -> dict[str, traitlets.TraitType]:
    """The synced traits ``cls`` defines itself (LensWidget's for the base; not anywidget's own)."""
    return {
        name: value
        for name, value in vars(cls).items()
        if isinstance(value, traitlets.TraitType) and value.metadata.get("sync") and not name.startswith("_")
    }


def trait_schema() -> dict[str, Any]:
    """The JSON Schema of every widget's model: one $defs entry per widget class (its own traits)."""
    defs: dict[str, Any] = dict(DEFS)
    for ts_name, cls in WIDGETS.items():
        traits = _own_traits(cls)
        props = {name: SHAPES.get((cls, name), _trait_schema(trait)) for name, trait in traits.items()}
        for name, trait in traits.items():
            if trait.help and "$ref" not in props[name]:
                props[name] = {**props[name], "description": trait.help}
        schema: dict[str, Any] = {
            "description": f"{cls.__module__}.{cls.__qualname__}: its synced traits.",
            "type": "object",
            "properties": props,
            "required": list(props),
            "additionalProperties": False,
        }
        del schema["additionalProperties"]
        if cls is not LensWidget:
            # No other traits than the widget's and its base's: unevaluatedProperties sees through
            # allOf (additionalProperties would not, so the base itself stays open).
            schema = {"allOf": [{"$ref": "#/$defs/BaseModel"}], **schema, "unevaluatedProperties": False}
        defs[ts_name] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "LensLab widget traits",
        "description": "The synced traits of each LensLab anywidget. Generated from lenslab/widgets/trait_schema.py; do not edit.",
        "$defs": defs,
    }


def schema_text() -> str:
    return json.dumps(trait_schema(), indent=2) + "\n"


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"]:
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_text(schema_text())
        sys.stdout.write(f"wrote {FIXTURE}\n")
    else:
        sys.stdout.write(schema_text())
