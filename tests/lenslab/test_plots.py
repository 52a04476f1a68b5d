"""lenslab.Scatter: a static SVG scatter whose points sit where their values say."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch
from IPython.core.formatters import DisplayFormatter

import lenslab
from lenslab.plots import Scatter, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


def parse(scatter: Scatter) -> ET.Element:
    return ET.fromstring(scatter.svg())  # well-formed XML, or this raises


def test_points_map_back_to_their_values_and_carry_their_labels():
    exact = torch.tensor([[0.5, -1.0, 2.0], [3.0, 0.0, -0.25]])
    approx = torch.tensor([[0.4, -0.8, 1.5], [2.0, 0.1, -0.3]])
    labels = [f"L{l}H{h}" for l in range(2) for h in range(3)]
    sc = lenslab.Scatter(exact, approx, labels, xlabel="exact", ylabel="attribution", title="per head", annotate=2)
    root = parse(sc)
    points = root.findall(f".//{SVG}circle[@class='lenslab-point']")
    assert len(points) == 6
    # The oracle: invert the linear axis maps from the SVG's own coordinates.
    (x0, x1), (y0, y1) = sc.ranges()
    left, top, size = 56, 40, 320
    for point, x, y, label in zip(points, exact.flatten().tolist(), approx.flatten().tolist(), labels):
        cx, cy = float(point.get("cx")), float(point.get("cy"))
        assert x0 + (cx - left) / size * (x1 - x0) == pytest.approx(x, abs=1e-2)
        assert y1 - (cy - top) / size * (y1 - y0) == pytest.approx(y, abs=1e-2)
        assert point.find(f"{SVG}title").text.startswith(f"{label}: exact ")
    # The two points farthest from the median point are labelled in the picture.
    written = [t.text for t in root.findall(f".//{SVG}text[@class='lenslab-point-label']")]
    assert sorted(written) == ["L0H2", "L1H0"]
    # Far from the median, not from the origin: a bulk at (-9, -9) leaves only the outlier named.
    bulk = Scatter([-9.0, -9.1, -8.9, 1.0], [-9.0, -9.0, -9.1, -2.0], ["a", "b", "c", "out"], annotate=1)
    assert [t.text for t in parse(bulk).findall(f".//{SVG}text[@class='lenslab-point-label']")] == ["out"]
    r = np.corrcoef(exact.flatten().numpy(), approx.flatten().numpy())[0, 1]
    assert sc.correlation() == pytest.approx(r) and f"r = {r:.3f}" in sc.svg()


def test_the_diagonal_is_y_equals_x_on_a_shared_range():
    sc = Scatter([0.0, 10.0], [1.0, 2.0])
    (xr, yr) = sc.ranges()
    assert xr == yr and xr[0] <= 0.0 and xr[1] >= 10.0
    line = parse(sc).find(f".//{SVG}line[@class='lenslab-diagonal']")
    # A slope of -1 in SVG coordinates (y grows downwards) is y = x on equal axes.
    dx = float(line.get("x2")) - float(line.get("x1"))
    dy = float(line.get("y2")) - float(line.get("y1"))
    assert dx > 0 and dy == pytest.approx(-dx)
    assert parse(Scatter([1, 2], [3, 4], diagonal=False)).find(f".//{SVG}line[@class='lenslab-diagonal']") is None


def test_it_displays_as_svg_with_a_text_fallback():
    sc = Scatter([1.0, 2.0, 3.0], [1.0, 2.0, 3.5], ["a", "b", "c"], xlabel="exact", ylabel="approx")
    data, _ = DisplayFormatter().format(sc)
    assert data["image/svg+xml"].startswith("<svg") and data["text/plain"] == "Scatter(3 points, approx against exact, r=0.993)"


def test_ticks_are_round_and_cover_the_range():
    assert nice_ticks(-1.3, 4.2) == [0.0, 2.0, 4.0]
    assert nice_ticks(-12.5, 12.5) == [-10.0, -5.0, 0.0, 5.0, 10.0]
    assert nice_ticks(0.0, 0.9) == [0.0, 0.2, 0.4, 0.6, 0.8]
    assert nice_ticks(2.0, 2.0) == [2.0]


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        (([1, 2], [1]), {}, "x has 2 values \\(\\[2\\]\\) but y has 1"),
        (([], []), {}, "at least one point"),
        (([1, float("nan")], [1, 2]), {}, "must be finite"),
        (([1, 2], [1, 2]), {"labels": ["a"]}, "labels has 1 entries for 2 points"),
    ],
)
def test_bad_input_raises_one_clear_line(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        Scatter(*args, **kwargs)
