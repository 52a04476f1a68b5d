"""The widgets' trait schema: the fixture the TypeScript model interfaces are generated from is
current, and the state real widgets sync validates against it (so the generated types say true things)."""

from __future__ import annotations

import base64

import jsonschema
import pytest
import torch

from lenslab import AttentionPatterns, CacheExplorer, PatchingGrid
from lenslab.widgets import trait_schema as ts


def test_the_fixture_is_current():
    assert ts.FIXTURE.read_text() == ts.schema_text(), "js/test/fixtures/traits.schema.json is stale: run python -m lenslab.widgets.trait_schema --write"


def test_every_synced_trait_of_every_widget_is_in_the_schema():
    defs = ts.trait_schema()["$defs"]
    for name, cls in ts.WIDGETS.items():
        synced = {n for n, t in cls.class_traits(sync=True).items() if not n.startswith("_") and n not in _ipywidgets_traits()}
        own = set(defs[name]["properties"])
        inherited = set(defs["BaseModel"]["properties"]) if cls is not ts.LensWidget else set()
        assert synced == own | inherited, name


def _ipywidgets_traits() -> set[str]:
    import anywidget

    return set(anywidget.AnyWidget.class_traits(sync=True))


def _state(widget) -> dict:
    """The synced state as the front end reads it (bytes are DataViews there: not JSON, not checked)."""
    names = set(type(widget).class_traits(sync=True)) - _ipywidgets_traits()
    return {n: getattr(widget, n) for n in names if not n.startswith("_") and n != "data"}


def _validate(ts_name: str, state: dict) -> None:
    schema = ts.trait_schema()
    # The front end sees the bytes as a DataView: stand a string in for it here.
    jsonschema.Draft202012Validator({**schema, "$ref": f"#/$defs/{ts_name}"}).validate({**state, "data": base64.b64encode(b"").decode()})


def test_real_widget_state_fits_the_schema(tiny_run):
    _, cache = tiny_run
    explorer = CacheExplorer(cache)
    explorer.selected = "blocks.0.attn.hook_pattern"
    _validate("CacheModel", _state(explorer))
    _validate("AttentionModel", _state(AttentionPatterns(["a", "b"], torch.rand(2, 2, 2))))
    grid = PatchingGrid(torch.rand(2, 3))
    grid.select(0, 1, 2)
    _validate("PatchingModel", _state(grid))


def test_the_schema_refuses_what_the_front_end_could_not_read():
    state = _state(AttentionPatterns(["a", "b"], torch.rand(2, 2, 2)))
    with pytest.raises(jsonschema.ValidationError):
        _validate("AttentionModel", {**state, "dtype": "float64"})
    with pytest.raises(jsonschema.ValidationError):
        _validate("AttentionModel", {**state, "unknown_trait": 1})
