"""ColoredTokens and TopExamples in a real JupyterLab and browser: chip colours as the browser
paints them equal the kernel's colour computation (and the static HTML's), text keeps AA
contrast, hover shows index and exact value, the column selector recolours, the histogram hovers.

The kernel must load the lenslab of this source tree (PYTHONPATH=<tree>/py_src with its bundles
built by `jlpm build:widgets`); the first test checks that.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from lab_notebook import open_and_run_all, wait_for_cells

pytestmark = pytest.mark.e2e

TREE = Path(__file__).resolve().parents[2]

CELLS = [
    "import json, lenslab\n"
    "from IPython.display import HTML\n"
    "from lenslab.widgets import _colors\n"
    "print('LENSLAB', lenslab.__file__)",
    "tokens = ['The', ' cat', '\\n', ' sat', ' on']\n"
    "values = [[2.0, -1.0], [-2.0, 0.5], [0.0, 2.0], [1.0, 0.0], [-0.5, -0.25]]\n"
    "ct = lenslab.ColoredTokens(tokens, values, labels=['grad', 'act'], title='per-token gradient')\n"
    "ct",
    "HTML(ct.static_html())",
    "top = lenslab.TopExamples([['def', ' f', '(\\n'], ['x', ' =', ' 4']], [[0.5, 4.0, 1.0], [0.0, 0.25, 3.0]], [4.0, 3.0],\n"
    "                          [10, 4, 0, 1], [0.0, 1.0, 2.0, 3.0, 4.0], title='L0 neuron 5')\n"
    "top",
    "def css(vals, lo, hi, cmap):\n"
    "    return [_colors.css(c) for c in _colors.colors(vals, cmap, lo, hi)]\n"
    "print('EXPECT', json.dumps({\n"
    "    'ct0': css([v[0] for v in values], ct.vmin, ct.vmax, ct.cmap),\n"
    "    'ct1': css([v[1] for v in values], ct.vmin, ct.vmax, ct.cmap),\n"
    "    'top': css([0.5, 4.0, 1.0, 0.0, 0.25, 3.0], top.vmin, top.vmax, top.cmap),\n"
    "    'bars': css([0.5, 1.5, 2.5, 3.5], top.vmin, top.vmax, top.cmap),\n"
    "}))",
]

BG = "e => getComputedStyle(e).backgroundColor"
FG = "e => getComputedStyle(e).color"


@pytest.fixture(scope="module")
def nb(lab, browser, artifacts: Path):
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = open_and_run_all(context, lab.url, lab.root, "tokens.ipynb", CELLS)
    wait_for_cells(page, "EXPECT", widgets=2, failure_png=artifacts / "FAILED-tokens.png")
    done = page.locator(".jp-OutputArea-output", has_text="EXPECT")
    page.expected = json.loads(done.first.inner_text().split("EXPECT", 1)[1])  # type: ignore[attr-defined]
    yield page
    context.close()


def _rgb(css: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", css)[:3])


def _contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    def lum(c):
        lin = [(x / 255) / 12.92 if x / 255 <= 0.04045 else ((x / 255 + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted([lum(a), lum(b)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_kernel_runs_this_trees_lenslab(nb):
    out = nb.locator(".jp-OutputArea-output", has_text="LENSLAB").first.inner_text()
    assert out.split("LENSLAB", 1)[1].strip().startswith(str(TREE / "py_src")), out
    assert nb.locator(".lenslab-error:not([hidden])").count() == 0
    assert nb.errors == []


def test_colored_tokens_chips_colours_contrast_and_hover(nb, artifacts):
    from playwright.sync_api import expect

    w = nb.locator(".lenslab-widget.lenslab-colored-tokens")
    w.scroll_into_view_if_needed()
    chips = w.locator(".lenslab-chip")
    assert chips.all_inner_texts() == ["The", " cat", "\u21b5", " sat", " on"]
    backgrounds = [chips.nth(i).evaluate(BG) for i in range(5)]
    assert backgrounds == nb.expected["ct0"]
    for i in range(5):
        assert _contrast(_rgb(backgrounds[i]), _rgb(chips.nth(i).evaluate(FG))) >= 4.5
    newline_box = chips.nth(2).bounding_box()
    assert newline_box["width"] < 40 and newline_box["height"] < 30  # a normal chip, not a blank strip
    assert chips.nth(3).bounding_box()["y"] > newline_box["y"]  # the text breaks after the newline token
    chips.nth(1).hover()
    tooltip = w.locator(".lenslab-tooltip")
    expect(tooltip).to_be_visible()
    assert tooltip.inner_text().replace("\n", " ").split() == ["token", "1", "\u201c", "cat\u201d", "column", "grad", "value", "-2"]
    ticks = [float(t) for t in w.locator(".lenslab-colorbar-tick").all_inner_texts()]
    assert (ticks[0], ticks[-1]) == (-2, 2) and 0 in ticks
    w.locator("select.lenslab-column-select").select_option(label="act")
    expect(chips.nth(0)).to_have_css("background-color", nb.expected["ct1"][0])
    assert [chips.nth(i).evaluate(BG) for i in range(5)] == nb.expected["ct1"]
    w.screenshot(path=str(artifacts / "colored-tokens.png"))


def test_static_html_paints_the_same_colours_as_the_live_widget(nb):
    static = nb.locator(".jp-Cell").nth(2).locator("[data-lenslab-static='colored-tokens'] span[data-pos]")
    assert static.count() == 5
    assert [static.nth(i).evaluate(BG) for i in range(5)] == nb.expected["ct0"]
    assert static.nth(1).get_attribute("title") == "#1 \u201c cat\u201d: -2"


def test_top_examples_card_colours_max_tokens_histogram(nb, artifacts):
    from playwright.sync_api import expect

    w = nb.locator(".lenslab-widget.lenslab-top-examples")
    w.scroll_into_view_if_needed()
    chips = w.locator(".lenslab-chip")
    assert chips.count() == 6
    assert [chips.nth(i).evaluate(BG) for i in range(6)] == nb.expected["top"]
    for i in range(6):
        assert _contrast(_rgb(chips.nth(i).evaluate(BG)), _rgb(chips.nth(i).evaluate(FG))) >= 4.5
    assert w.locator(".lenslab-chip-max").all_inner_texts() == [" f", " 4"]
    assert w.locator(".lenslab-example-score").all_inner_texts() == ["score 4", "score 3"]
    bars = w.locator(".lenslab-hist-bar")
    assert [bars.nth(i).evaluate(BG) for i in range(4)] == nb.expected["bars"]
    heights = [bars.nth(i).bounding_box()["height"] for i in range(4) if i != 2]
    assert heights[0] > heights[1] > heights[2] > 0
    chips.nth(5).hover()
    tooltip = w.locator(".lenslab-tooltip")
    expect(tooltip).to_contain_text("example #2 \u00b7 max token")
    assert re.search(r"token 2 \u201c 4\u201d", tooltip.inner_text()) and tooltip.inner_text().rstrip().endswith("3")
    bars.nth(1).hover()
    expect(tooltip).to_contain_text("count 4")
    w.screenshot(path=str(artifacts / "top-examples.png"))


def test_static_copies_show_in_a_reopened_untrusted_notebook(lab, browser, artifacts):
    """A notebook saved elsewhere (no trust signature) holding only the static copies: JupyterLab
    sanitizes its HTML; the chips keep their colours and hover titles, the histogram its bars."""
    from playwright.sync_api import expect

    from lenslab import ColoredTokens, TopExamples
    from lenslab.widgets import _colors

    ct = ColoredTokens(["The", " cat", "\n", " sat"], [2.0, -2.0, 0.0, 1.0], title="saved tokens")
    top = TopExamples([["a", " b"]], [[0.0, 3.0]], [3.0], [5, 1], [0.0, 1.5, 3.0], title="saved card")
    notebook = nbformat.v4.new_notebook()
    for w in (ct, top):
        cell = nbformat.v4.new_code_cell("# ran before the notebook was saved")
        cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": w.static_html(), "text/plain": repr(w)})]
        notebook.cells.append(cell)
    nbformat.write(notebook, lab.root / "saved.ipynb")
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{lab.url}/lab/tree/saved.ipynb?reset")  # a fresh workspace: only this notebook
        panel = page.locator(".jp-NotebookPanel:visible")
        chips = panel.locator(".jp-OutputArea-output .lenslab-static span[title]")
        expect(chips).to_have_count(6, timeout=90_000)  # both outputs rendered
        texts = chips.all_inner_texts()
        assert texts[:4] == ["The", " cat", "\u21b5", " sat"] and texts[4:] == ["a", " b"]
        want = [_colors.css(c) for c in _colors.colors([2.0, -2.0, 0.0, 1.0], "diverging", -2.0, 2.0)]
        want += [_colors.css(c) for c in _colors.colors([0.0, 3.0], "sequential", 0.0, 3.0)]
        assert [chips.nth(i).evaluate(BG) for i in range(6)] == want
        for i in range(6):
            assert _contrast(_rgb(chips.nth(i).evaluate(BG)), _rgb(chips.nth(i).evaluate(FG))) >= 4.5
        assert chips.nth(1).get_attribute("title") == "#1 \u201c cat\u201d: -2"
        bars = panel.locator(".lenslab-static-hist div[title]")
        assert [bars.nth(i).get_attribute("title") for i in range(2)] == ["[0, 1.5): 5", "[1.5, 3): 1"]
        assert bars.nth(0).bounding_box()["height"] > bars.nth(1).bounding_box()["height"] > 0
        panel.screenshot(path=str(artifacts / "tokens-static-reopened.png"))
    finally:
        context.close()
