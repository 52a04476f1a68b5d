"""The kernel-side colour scales (static HTML) are the front end's: both load the one definition,
py_src/lenslab/widgets/colorscale.json (js/src/shared/colorscale.test.ts checks the TypeScript
constants against it), and compute the same tables, centring and WCAG AA text colours from it."""

from __future__ import annotations

import json
import math
import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from lenslab.widgets import _colors as c

ROOT = Path(__file__).resolve().parents[2]
COLORSCALE_JSON = ROOT / "py_src" / "lenslab" / "widgets" / "colorscale.json"
ENTRIES = {"sequential_stops", "diverging_stops", "nan_color", "lut_size", "black_text_above"}


def _spec() -> dict:
    return json.loads(COLORSCALE_JSON.read_text(encoding="utf-8"))


def test_the_constants_are_colorscale_json():
    spec = _spec()
    assert c.SPEC == spec
    assert c.SEQUENTIAL_STOPS == tuple(tuple(s) for s in spec["sequential_stops"]["value"])
    assert c.DIVERGING_STOPS == tuple(tuple(s) for s in spec["diverging_stops"]["value"])
    assert c.NAN_COLOR == tuple(spec["nan_color"]["value"])
    assert c.LUT_SIZE == spec["lut_size"]["value"] and type(c.LUT_SIZE) is int
    assert c.BLACK_TEXT_ABOVE == spec["black_text_above"]["value"] and type(c.BLACK_TEXT_ABOVE) is float
    # Hashable tuples of ints: lut() caches on the stops.
    assert all(type(x) is int for stops in (c.SEQUENTIAL_STOPS, c.DIVERGING_STOPS, (c.NAN_COLOR,)) for rgb in stops for x in rgb)


def test_the_json_ships_in_the_package_and_is_the_one_loaded():
    # importlib.resources finds it as package data (the wheel ships every non-ignored file under
    # py_src/lenslab), and what it finds is the file colorscale.ts bundles.
    found = resources.files("lenslab.widgets").joinpath("colorscale.json")
    assert found.read_text(encoding="utf-8") == COLORSCALE_JSON.read_text(encoding="utf-8")
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert "py_src/lenslab" in packages


def test_every_entry_is_described_and_well_formed():
    spec = _spec()
    assert isinstance(spec.pop("description"), str)
    assert set(spec) == ENTRIES
    for name, entry in spec.items():
        assert set(entry) == {"description", "value"}, name
        assert isinstance(entry["description"], str) and entry["description"].strip(), name
    for rgb in [*spec["sequential_stops"]["value"], *spec["diverging_stops"]["value"], spec["nan_color"]["value"]]:
        assert len(rgb) == 3 and all(type(x) is int and 0 <= x <= 255 for x in rgb)
    # Odd table and odd diverging stop count: zero lands on the middle entry, which is the middle stop.
    assert c.LUT_SIZE % 2 == 1 and len(c.DIVERGING_STOPS) % 2 == 1
    assert c.NAN_COLOR not in c.SEQUENTIAL_STOPS + c.DIVERGING_STOPS


def test_the_table_passes_through_every_stop():
    for stops in (c.SEQUENTIAL_STOPS, c.DIVERGING_STOPS):
        table = c.lut(stops)
        assert table.shape == (c.LUT_SIZE, 3)
        assert tuple(table[0]) == stops[0] and tuple(table[-1]) == stops[-1]
        at = np.linspace(0, c.LUT_SIZE - 1, len(stops)).round().astype(int)
        assert [tuple(table[i]) for i in at] == list(stops)
    assert tuple(c.lut(c.DIVERGING_STOPS)[(c.LUT_SIZE - 1) // 2]) == c.DIVERGING_STOPS[len(c.DIVERGING_STOPS) // 2]


def test_diverging_is_centred_on_zero_and_mirrored():
    got = c.colors([0.0, -2.0, 2.0, 5.0, float("nan")], "diverging", -2.0, 2.0)
    assert got[0] == c.DIVERGING_STOPS[5]
    assert got[1] == c.DIVERGING_STOPS[0] and got[2] == c.DIVERGING_STOPS[-1] and got[3] == c.DIVERGING_STOPS[-1]
    assert got[4] == c.NAN_COLOR
    v = np.linspace(0, 2, 37)
    np.testing.assert_array_equal(c.lut_index(v, -2, 2) + c.lut_index(-v, -2, 2), c.LUT_SIZE - 1)
    assert c.lut_index([1e-9, -1e-9], -2, 2).tolist() == [255, 255]
    assert c.lut_index([float("inf"), float("-inf")], -2, 2).tolist() == [-1, -1]


def test_scale_range_is_one_symmetric_scale_or_sequential_from_zero():
    assert c.scale_range(np.array([-1.0, 3.0])) == ("diverging", -3.0, 3.0)
    assert c.scale_range(np.array([0.5, 2.0])) == ("sequential", 0.0, 2.0)
    assert c.scale_range(np.array([0.0, 0.0])) == ("sequential", 0.0, 1.0)
    assert c.scale_range(np.array([0.5, 2.0]), vmax=4) == ("sequential", 0.0, 4.0)
    assert c.scale_range(np.array([0.5, 2.0]), "diverging") == ("diverging", -2.0, 2.0)
    assert c.scale_range(np.array([-1.0, 2.0]), "sequential") == ("sequential", -1.0, 2.0)
    with pytest.raises(ValueError, match="cmap must be"):
        c.scale_range(np.array([1.0]), "viridis")


def _contrast(a, b) -> float:
    hi, lo = sorted([c.luminance(a), c.luminance(b)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_black_text_threshold_is_where_black_and_white_tie():
    # (1 + 0.05) / (L + 0.05) == (L + 0.05) / (0 + 0.05) at L = sqrt(1.05 * 0.05) - 0.05 = 0.17913
    assert c.BLACK_TEXT_ABOVE == pytest.approx(math.sqrt(1.05 * 0.05) - 0.05, abs=1e-3)


@pytest.mark.parametrize("stops", [c.SEQUENTIAL_STOPS, c.DIVERGING_STOPS])
def test_text_on_every_colour_follows_the_threshold_and_keeps_aa_contrast(stops):
    text_rgb = {"#000": (0, 0, 0), "#fff": (255, 255, 255)}
    backgrounds = [(int(r), int(g), int(b)) for r, g, b in c.lut(stops)]
    chosen = [c.text_color_on(bg) for bg in backgrounds]
    assert chosen == ["#000" if c.luminance(bg) > c.BLACK_TEXT_ABOVE else "#fff" for bg in backgrounds]
    assert min(_contrast(bg, text_rgb[t]) for bg, t in zip(backgrounds, chosen)) >= 4.5
