"""Static copies of the widgets (lenslab/widgets/_static.py): the output's text/html picture.

Oracles: the kernel-side colour scales (``_colors``, which load colorscale.json as the front end
does; see test_colors.py), the widgets' own labels and values, zlib for the PNG round trip, and
nbconvert's HTML of an executed notebook.
"""

from __future__ import annotations

import base64
import html
import re
import struct
import zlib

import nbformat
import numpy as np
import pytest

from lenslab.widgets import _colors, _static
from lenslab.widgets.attention import AttentionPatterns
from lenslab.widgets.cache_explorer import CacheExplorer
from lenslab.widgets.patching_grid import PatchingGrid

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def texts(doc: str) -> list[str]:
    """The visible text of every SVG <text> (its hover <title> removed), unescaped."""
    return [html.unescape(re.sub(r"<title>.*?</title>", "", t, flags=re.S)) for t in re.findall(r"<text[^>]*>(.*?)</text>", doc, re.S)]


def cell_titles(doc: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r'<rect [^>]*fill="#[0-9a-f]{6}"><title>(.*?)</title></rect>', doc, re.S)]


def test_scales_map_ends_and_zero_to_the_stops():
    div = _static.diverging_scale(2.0)
    got = div.colors(np.array([-2.0, 0.0, 2.0, -5.0, np.nan, -np.inf]))
    assert got.tolist() == [list(_colors.DIVERGING_STOPS[0]), list(_colors.DIVERGING_STOPS[5]), list(_colors.DIVERGING_STOPS[-1]),
                            list(_colors.DIVERGING_STOPS[0]), list(_colors.NAN_COLOR), list(_colors.NAN_COLOR)]
    # symmetric: +v and -v land on mirrored LUT entries
    v = np.linspace(0, 2, 37)
    assert ((_colors.LUT_SIZE - 1 - div.indices(-v)) == div.indices(v)).all()
    seq = _static.sequential_scale(0, 1).colors(np.array([0.0, 1.0]))
    assert seq.tolist() == [list(_colors.SEQUENTIAL_STOPS[0]), list(_colors.SEQUENTIAL_STOPS[-1])]


def test_png_data_uri_decodes_to_the_pixels():
    rgb = (np.arange(5 * 7 * 3) % 256).astype(np.uint8).reshape(5, 7, 3)
    png = base64.b64decode(_static.png_data_uri(rgb).split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", png[16:24])
    assert (w, h) == (7, 5)
    idat = png[png.index(b"IDAT") + 4 : png.index(b"IEND") - 8]
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(5, 1 + 7 * 3)
    assert (raw[:, 0] == 0).all()
    np.testing.assert_array_equal(raw[:, 1:].reshape(5, 7, 3), rgb)


def test_colorbar_ticks_label_both_ends_and_more_than_half_steps():
    ticks = _static.colorbar_ticks(-0.73, 0.73, 240)
    assert ticks[0] == -0.73 and ticks[-1] == 0.73
    assert len(ticks) >= 7 and 0.0 in ticks
    assert _static.nice_ticks(-1, 1, 5) == [-1, -0.5, 0, 0.5, 1]


def test_format_value_matches_the_front_end_rules():
    assert [_static.format_value(v) for v in (0, 1.23456, -0.5, 1e-5, 123456.0, float("nan"), float("inf"), None)] == [
        "0", "1.235", "-0.5", "1.00e-05", "1.23e+05", "NaN", "+inf", "\u2013"]


def test_patching_grid_static_copy_has_every_label_value_and_colour():
    rng = np.random.default_rng(0)
    results = rng.normal(size=(5, 2, 8)).astype(np.float32)
    grid = PatchingGrid(results, kind="head_all_pos_every", title="IOI heads")
    doc = grid.static_html()
    assert doc.startswith('<div class="lenslab-static" data-lenslab-static="PatchingGrid"')
    assert "<script" not in doc
    shown = texts(doc)
    for label in ["IOI heads", "output", "query", "key", "value", "pattern", "L0", "L1", *[f"H{h}" for h in range(8)], "layer", "head"]:
        assert label in shown or label in html.unescape(doc), label
    assert shown.count("L0") == 5 and shown.count("H7") == 5  # every panel labels every row and column
    titles = cell_titles(doc)
    assert len(titles) == 5 * 2 * 8
    expected = [f"L{r} \u00b7 H{c}: {_static.format_value(float(results[p, r, c]))}" for p in range(5) for r in range(2) for c in range(8)]
    assert titles == expected
    fills = re.findall(r'<rect [^>]*fill="(#[0-9a-f]{6})"><title>', doc)
    scale = _static.diverging_scale(float(np.abs(results).max()))
    assert fills == [_static.hex_color(c) for c in scale.colors(results.reshape(-1))]


def test_two_row_grid_labels_both_rows_in_full():
    grid = PatchingGrid(np.array([[1.0, -2.0, 0.5], [0.25, 0.0, -1.0]]), kind="layer_pos", tokens=["When", " Mary", "\n"])
    shown = texts(grid.static_html())
    assert {"L0", "L1", "When", " Mary", "\u21b5"} <= set(shown)


def test_attention_static_copy_labels_every_token_and_head():
    tokens = ["The", " cat", "\n", " sat", " on", " mat"]
    p = np.random.default_rng(1).random((8, 6, 6))
    p /= p.sum(-1, keepdims=True)
    widget = AttentionPatterns(tokens, p, layer=2, selected_head=3)
    doc = widget.static_html()
    shown = texts(doc)
    assert [f"L2H{h}" for h in range(8)] == [t for t in shown if t.startswith("L2H")][:8]
    for tok in ["The", " cat", "\u21b5", " sat", " on", " mat"]:
        assert shown.count(tok) >= 2, tok  # as a row and as a column label
    assert "L2H3 (destination" in " ".join(shown)
    titles = cell_titles(doc)
    assert titles[1] == f"The \u00b7  cat: {_static.format_value(float(np.float32(p[3, 0, 1])))}"
    assert doc.count("data:image/png;base64,") == 8  # one thumbnail per head


def test_large_attention_becomes_a_png_not_a_rect_per_cell():
    big = np.random.default_rng(2).random((2, 300, 300)).astype(np.float32)
    doc = AttentionPatterns(None, big).static_html()
    assert doc.count("<rect ") < 50 and doc.count("data:image/png") == 3
    assert len(doc) < 2_000_000


def test_cache_explorer_static_copy_lists_every_hook_with_its_statistics(tiny_run):
    tokens, cache = tiny_run
    explorer = CacheExplorer(cache)
    doc = explorer.static_html()
    unescaped = html.unescape(doc)
    for info in explorer.hooks:
        assert f">{info['name']}<" in unescaped
        shape = "\u00d7".join(str(d) for d in info["shape"])
        assert f">{shape}<" in unescaped
        for key in ("mean", "std", "norm"):
            assert f">{_static.format_value(info[key], 3)}<" in unescaped
    assert explorer.view == "pattern" and "L0H0" in texts(doc)
    explorer.selected = "blocks.0.hook_resid_post"
    doc = explorer.static_html()
    assert "blocks.0.hook_resid_post" in texts(doc) and "position" in texts(doc)


def test_mimebundle_carries_the_widget_view_and_the_static_copy():
    grid = PatchingGrid(np.ones((2, 3)), kind="layer_pos")
    data, _ = grid._repr_mimebundle_()
    assert WIDGET_VIEW in data and data["text/html"] == grid.static_html() and "text/plain" in data


@pytest.mark.slow
def test_nbconvert_html_of_an_executed_notebook_shows_the_pictures(tmp_path):
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in (
        "import numpy as np, lenslab\np = np.full((2, 3, 3), 1 / 3)",
        "lenslab.AttentionPatterns(['a', 'b', '\\n'], p, layer=1)",
        "lenslab.PatchingGrid(np.array([[1.0, -1.0], [0.5, 0.0]]), kind='layer_pos', tokens=['x', 'y'])",
        "lenslab.CacheExplorer({'blocks.0.hook_resid_post': np.ones((1, 2, 4))})",
    )]
    # No widget state in the file, as JupyterLab saves by default: nbconvert skips the widget view.
    NotebookClient(nb, kernel_name="python3", timeout=120, store_widget_state=False).execute()
    body, _ = HTMLExporter().from_notebook_node(nb)
    found = re.findall(r'data-lenslab-static="(\w+)"', body)
    assert found == ["AttentionPatterns", "PatchingGrid", "CacheExplorer"]
    shown = set(texts(body))
    assert {"L1H0", "L1H1", "a", "b", "\u21b5", "L0", "L1", "x", "y"} <= shown
    assert "blocks.0.hook_resid_post" in html.unescape(body)


def test_static_tokens_use_the_front_ends_whitespace_arrows():
    assert [_static.display_token(t) for t in ("\n", "\r\n", "\u2028", "\tx", " cat")] == ["\u21b5", "\u21b5", "\u21b5", "\u21e5x", " cat"]


def test_grids_beyond_512_a_side_are_block_averaged_in_the_static_png():
    values = np.zeros((1024, 1024))
    values[:2, :2] = 1.0  # one 2x2 block of ones averages to one pixel of 1.0
    doc = _static.heatmap_svg(values, _static.sequential_scale(0, 1)).body
    png = base64.b64decode(re.search(r'href="data:image/png;base64,([^"]+)"', doc).group(1))
    assert struct.unpack(">II", png[16:24]) == (512, 512)
    idat = png[png.index(b"IDAT") + 4 : png.index(b"IEND") - 8]
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(512, 1 + 512 * 3)
    assert raw[0, 1:4].tolist() == list(_colors.SEQUENTIAL_STOPS[-1]) and raw[0, 4:7].tolist() == list(_colors.SEQUENTIAL_STOPS[0])
