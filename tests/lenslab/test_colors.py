"""The kernel-side colour scales (static HTML) match the front end's: same stops as
js/src/shared/colorscale.ts, same centring, and text colours that keep WCAG AA contrast."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from lenslab.widgets import _colors as c

COLORSCALE_TS = Path(__file__).resolve().parents[2] / "js" / "src" / "shared" / "colorscale.ts"


def _ts_stops(name: str) -> tuple[tuple[int, int, int], ...]:
    block = re.search(rf"export const {name}: readonly RGB\[\] = \[(.*?)\];", COLORSCALE_TS.read_text(), re.S)
    assert block, f"{name} not found in {COLORSCALE_TS}"
    return tuple(tuple(int(x) for x in m) for m in re.findall(r"\[(\d+), (\d+), (\d+)\]", block.group(1)))


def test_stops_and_constants_are_the_front_ends():
    text = COLORSCALE_TS.read_text()
    assert _ts_stops("SEQUENTIAL_STOPS") == c.SEQUENTIAL_STOPS
    assert _ts_stops("DIVERGING_STOPS") == c.DIVERGING_STOPS
    assert f"export const LUT_SIZE = {c.LUT_SIZE};" in text
    assert f"NAN_COLOR: RGB = [{', '.join(map(str, c.NAN_COLOR))}]" in text
    assert f"luminance(rgb) > {c.BLACK_TEXT_ABOVE}" in text


def test_the_table_passes_through_every_stop():
    for stops in (c.SEQUENTIAL_STOPS, c.DIVERGING_STOPS):
        table = c.lut(stops)
        at = np.linspace(0, c.LUT_SIZE - 1, len(stops)).round().astype(int)
        assert [tuple(table[i]) for i in at] == list(stops)


def test_diverging_is_centred_on_zero_and_mirrored():
    got = c.colors([0.0, -2.0, 2.0, 5.0, float("nan")], "diverging", -2.0, 2.0)
    assert got[0] == c.DIVERGING_STOPS[5]
    assert got[1] == c.DIVERGING_STOPS[0] and got[2] == c.DIVERGING_STOPS[-1] and got[3] == c.DIVERGING_STOPS[-1]
    assert got[4] == c.NAN_COLOR
    v = np.linspace(0, 2, 37)
    np.testing.assert_array_equal(c.lut_index(v, -2, 2) + c.lut_index(-v, -2, 2), c.LUT_SIZE - 1)
    assert c.lut_index([1e-9, -1e-9], -2, 2).tolist() == [255, 255]


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


@pytest.mark.parametrize("stops", [c.SEQUENTIAL_STOPS, c.DIVERGING_STOPS])
def test_text_on_every_colour_keeps_aa_contrast(stops):
    text_rgb = {"#000": (0, 0, 0), "#fff": (255, 255, 255)}
    worst = min(_contrast(tuple(int(x) for x in bg), text_rgb[c.text_color_on(tuple(bg))]) for bg in c.lut(stops))
    assert worst >= 4.5
