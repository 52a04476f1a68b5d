"""Attention view additions and side-by-side grids in a real JupyterLab and browser.

Hovering a head thumbnail previews that head in the large view (click still selects it); the
source/destination toggle shows the pattern transposed and syncs ``view_by`` to Python;
``lenslab.show(a, b, same_scale=True)`` draws two grids with one colour bar scale; the keyboard
alone previews and selects heads, walks the attention heatmap's cells and the token chips of a
ColoredTokens and selects a patching cell, and keys pressed in a widget never reach JupyterLab's
notebook shortcuts.
The pattern is written by hand, so what each view must show is known exactly.
Screenshots land in test-artifacts/e2e/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lab_notebook import open_and_run_all, wait_for_cells

pytestmark = pytest.mark.e2e

TOKENS = ["A", "B", "C", "D"]
SETUP = f'''
import torch
import lenslab
tokens = {TOKENS!r}
n = len(tokens)
# Head 0 attends to the first token; head 1 to itself; head 2 to the previous token (the first to itself).
pattern = torch.zeros(3, n, n)
pattern[0, :, 0] = 1
pattern[1] = torch.eye(n)
pattern[2, 0, 0] = 1
for d in range(1, n):
    pattern[2, d, d - 1] = 1
attn = lenslab.AttentionPatterns(tokens, pattern, head_names=["first", "self", "prev"])
attn
'''
PAIR = (
    "exact = torch.tensor([[12.0, -3.0], [0.5, 1.0]])\n"
    "approx = torch.tensor([[9.0, -1.0], [0.0, -2.0]])\n"
    "lenslab.show(exact, approx, kind='layer_head', same_scale=True, titles=['exact', 'attribution'])"
)
CHIPS = "lenslab.ColoredTokens(['The', ' cat', ' sat'], [1.0, -0.5, 0.25], title='keyboard chips')"
CELLS = [SETUP, CHIPS, PAIR, "print('VIEW_BY', attn.view_by, attn.selected_head)"]


@pytest.fixture(scope="module")
def nb(lab, browser, artifacts: Path):
    context = browser.new_context(viewport={"width": 1800, "height": 1000})
    page = open_and_run_all(context, lab.url, lab.root, "attention_views.ipynb", CELLS)
    wait_for_cells(page, "VIEW_BY", widgets=4, exact=False, failure_png=artifacts / "FAILED-attention-views.png")
    yield page
    context.close()


def readout_for_last_token(w) -> str:
    w.locator(".lenslab-token").nth(len(TOKENS) - 1).hover()
    return w.locator(".lenslab-readout").inner_text()


def test_hovering_a_thumbnail_previews_the_head_and_a_click_selects_it(nb, artifacts):
    from playwright.sync_api import expect

    w = nb.locator(".lenslab-widget.lenslab-attention").first
    w.scroll_into_view_if_needed()
    view = w.locator(".lenslab-attention-view")
    name = w.locator(".lenslab-head-name")
    expect(name).to_have_text("first")
    thumbs = w.locator(".lenslab-thumb")
    thumbs.nth(2).hover()
    expect(name).to_have_text("prev")
    expect(view).to_have_attribute("data-shown-head", "2")
    expect(w.locator(".lenslab-preview-note")).to_contain_text("click to select")
    assert thumbs.nth(0).get_attribute("aria-selected") == "true"  # previewing selects nothing
    w.locator(".lenslab-attention-view").screenshot(path=str(artifacts / "attention-thumbnail-preview.png"))
    # Leaving the thumbnails for the token strip shows the selected head again.
    assert readout_for_last_token(w) == "first: \u201cD\u201d (3) attends to \u201cA\u201d (0) 1, \u201cB\u201d (1) 0, \u201cC\u201d (2) 0"
    expect(name).to_have_text("first")
    thumbs.nth(2).click()
    expect(thumbs.nth(2)).to_have_attribute("aria-selected", "true")
    w.locator(".lenslab-token").first.hover()
    expect(name).to_have_text("prev")
    assert readout_for_last_token(w).startswith("prev: \u201cD\u201d (3) attends to \u201cC\u201d (2) 1,")


def test_the_toggle_shows_the_pattern_by_source_and_syncs_to_python(nb, artifacts):
    from playwright.sync_api import expect

    w = nb.locator(".lenslab-widget.lenslab-attention").first
    toggle = w.locator(".lenslab-view-by")
    expect(toggle).to_have_text("Rows: destination")
    toggle.click()
    expect(toggle).to_have_text("Rows: source")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(w.locator(".lenslab-plot-title")).to_contain_text("source \u2193 \u00b7 destination \u2192")
    # Head "prev" by source: source C (2) is attended to by D (3) only.
    w.locator(".lenslab-token").nth(2).hover()
    expect(w.locator(".lenslab-readout")).to_have_text("prev: \u201cC\u201d (2) is attended to by \u201cD\u201d (3) 1, \u201cA\u201d (0) 0, \u201cB\u201d (1) 0")
    # The heatmap is transposed: row 0 (source A) has its weight in column 1 (destination B).
    canvas = w.locator(".lenslab-plot canvas.lenslab-heatmap-canvas")
    cell = canvas.bounding_box()["width"] / len(TOKENS)
    canvas.hover(position={"x": 1.5 * cell, "y": 0.5 * cell})
    tip = w.locator(".lenslab-tooltip")
    expect(tip).to_contain_text("weight")
    text = re.sub(r"\s+", "", tip.inner_text())
    assert "dest1\u201cB\u201d" in text and "src0\u201cA\u201d" in text and "weight1" in text, text
    w.locator(".lenslab-attention-view").screenshot(path=str(artifacts / "attention-by-source.png"))

    last = nb.locator(".jp-Notebook .jp-Cell").nth(len(CELLS) - 1)
    last.locator(".jp-InputArea-editor").click()
    nb.keyboard.press("Shift+Enter")
    expect(nb.locator(".jp-OutputArea-output", has_text="VIEW_BY source 2")).to_have_count(1, timeout=30_000)


def test_two_grids_shown_with_same_scale_share_their_colour_bar(nb, artifacts):
    grids = nb.locator(".lenslab-widget.lenslab-patching")
    assert grids.count() == 2
    assert [grids.nth(i).locator(".lenslab-title").inner_text() for i in range(2)] == ["exact", "attribution"]
    ticks = [grids.nth(i).locator(".lenslab-colorbar-tick").all_inner_texts() for i in range(2)]
    assert ticks[0] == ticks[1] and ticks[0], ticks
    # Both span ±12 (the exact grid's extreme), not ±9 for the attribution grid.
    values = [float(t.replace("\u2212", "-")) for t in ticks[1]]
    assert max(values) >= 10 and min(values) <= -10, ticks
    boxes = [grids.nth(i).bounding_box() for i in range(2)]
    assert boxes[1]["x"] > boxes[0]["x"] + boxes[0]["width"] - 1 and abs(boxes[1]["y"] - boxes[0]["y"]) < 2, boxes  # one row
    grids.first.locator("xpath=ancestor::div[contains(@class, 'widget-hbox')][1]").screenshot(path=str(artifacts / "side-by-side-same-scale.png"))
    assert nb.errors == []


def test_the_keyboard_alone_operates_heads_heatmaps_and_token_chips_without_notebook_shortcuts(nb, artifacts):
    """Tab, arrows, Home/End and Enter only (no pointer): what a keyboard or screen-reader user gets.
    Keys a widget does not use (Enter, B, ArrowDown on a chip) must not act on the notebook."""
    from playwright.sync_api import expect

    w = nb.locator(".lenslab-widget.lenslab-attention").first
    w.scroll_into_view_if_needed()
    focused = nb.locator("*:focus")
    name = w.locator(".lenslab-head-name")
    thumbs = w.locator(".lenslab-thumb")
    selected = [thumbs.nth(i).get_attribute("aria-selected") for i in range(3)].index("true")
    # The starting point for Tab: the control just before the thumbnails (focused without a pointer),
    # the source/destination toggle; rows by source below (the earlier test may have flipped it).
    w.locator(".lenslab-view-by").focus()
    if w.locator(".lenslab-attention-view").get_attribute("data-view-by") != "source":
        nb.keyboard.press("Space")
    expect(w.locator(".lenslab-attention-view")).to_have_attribute("data-view-by", "source")
    nb.keyboard.press("Tab")  # one Tab stop for all the heads: it lands on the selected one
    expect(focused).to_have_attribute("aria-label", f"{['first', 'self', 'prev'][selected]}, head {selected}")
    nb.keyboard.press("Home")
    nb.keyboard.press("Enter")
    expect(thumbs.nth(0)).to_have_attribute("aria-selected", "true")
    expect(name).to_have_text("first")
    nb.keyboard.press("ArrowRight")  # focus previews, as hover does
    expect(focused).to_have_attribute("aria-label", "self, head 1")
    expect(name).to_have_text("self")
    expect(w.locator(".lenslab-attention-view")).to_have_attribute("data-shown-head", "1")
    expect(w.locator(".lenslab-preview-note")).to_contain_text("click to select")
    assert thumbs.nth(0).get_attribute("aria-selected") == "true"  # previewing selects nothing
    w.locator(".lenslab-attention-view").screenshot(path=str(artifacts / "attention-keyboard-preview.png"))
    nb.keyboard.press("End")
    expect(name).to_have_text("prev")
    nb.keyboard.press("Enter")
    expect(thumbs.nth(2)).to_have_attribute("aria-selected", "true")
    expect(w.locator(".lenslab-preview-note")).to_have_count(0)
    assert [thumbs.nth(i).get_attribute("tabindex") for i in range(3)] == ["-1", "-1", "0"]

    # On to the heatmap: one Tab stop, a focused cell that moves in 2-D and shows the hover tooltip.
    # Head "prev" by source: rows are sources, columns
    # destinations, and source s is attended to by destination s + 1 only (A also by itself).
    tip = w.locator(".lenslab-tooltip")
    canvas = w.locator(".lenslab-plot canvas.lenslab-heatmap-canvas")
    size = canvas.bounding_box()["width"] / len(TOKENS)
    canvas.hover(position={"x": 2.5 * size, "y": 1.5 * size})  # row 1 (source B), column 2 (destination C)
    hovered = tip.inner_text()
    nb.mouse.move(0, 0)
    expect(tip).to_be_hidden()
    nb.keyboard.press("Tab")
    expect(focused).to_have_attribute("role", "gridcell")
    expect(focused).to_have_attribute("aria-label", "prev, dest 0 \u201cA\u201d, src 0 \u201cA\u201d, weight 1")
    expect(tip).to_be_visible()
    nb.keyboard.press("ArrowDown")
    nb.keyboard.press("ArrowRight")
    nb.keyboard.press("ArrowRight")
    expect(focused).to_have_attribute("aria-label", "prev, dest 2 \u201cC\u201d, src 1 \u201cB\u201d, weight 1")
    assert tip.inner_text() == hovered  # exactly what the pointer shows over that cell
    ring = nb.evaluate("getComputedStyle(document.activeElement).boxShadow")
    assert ring and ring != "none", ring  # a visible focus ring
    assert w.locator(".lenslab-plot [tabindex='0']").count() == 1
    w.locator(".lenslab-attention-view").screenshot(path=str(artifacts / "attention-heatmap-keyboard.png"))
    nb.keyboard.press("End")
    expect(focused).to_have_attribute("aria-label", re.compile(r"^prev, dest 3 \u201cD\u201d, src 1 \u201cB\u201d, weight 0"))
    nb.keyboard.press("Enter")  # as a click on the row: pins source B
    expect(w.locator(".lenslab-token.lenslab-pinned")).to_have_attribute("data-pos", "1")
    expect(w.locator(".lenslab-readout")).to_contain_text("prev: \u201cB\u201d (1) is attended to by \u201cC\u201d (2) 1")

    nb.keyboard.press("Tab")  # on to the token strip: one Tab stop, its first token shades the strip
    expect(focused).to_have_attribute("aria-label", re.compile(r"^token 0 \u201cA\u201d"))
    expect(w.locator(".lenslab-readout")).to_contain_text("prev: \u201cA\u201d (0)")
    expect(name).to_have_text("prev")

    # Tab on to the ColoredTokens chips (past the toolbars in between), then walk them.
    for _ in range(20):
        nb.keyboard.press("Tab")
        if nb.evaluate("document.activeElement.classList.contains('lenslab-chip')"):
            break
    chips = nb.locator(".lenslab-widget", has=nb.locator(".lenslab-chip"))
    tip = chips.locator(".lenslab-tooltip")
    expect(focused).to_have_attribute("aria-label", "token 0 \u201cThe\u201d, value 1")
    expect(tip).to_be_visible()
    nb.keyboard.press("ArrowRight")
    expect(focused).to_have_attribute("aria-label", "token 1 \u201c cat\u201d, value -0.5")
    expect(tip).to_contain_text("value -0.5")
    nb.keyboard.press("End")
    expect(focused).to_have_attribute("aria-label", "token 2 \u201c sat\u201d, value 0.25")
    assert chips.locator(".lenslab-chip").evaluate_all("cs => cs.map(c => c.tabIndex)") == [-1, -1, 0]
    chips.screenshot(path=str(artifacts / "chips-keyboard-focus.png"))

    # Keys the chips do not use stay in the widget: Enter does not put the cell into edit mode,
    # B does not insert a cell, ArrowDown does not move to the next cell.
    notebook = nb.locator(".jp-Notebook")
    cells = nb.locator(".jp-Notebook .jp-Cell")
    count = cells.count()
    active = nb.evaluate("[...document.querySelectorAll('.jp-Notebook .jp-Cell')].findIndex(c => c.classList.contains('jp-mod-active'))")
    for key in ["Enter", "b", "ArrowDown", "Enter"]:
        nb.keyboard.press(key)
        nb.wait_for_timeout(150)
    expect(notebook).to_have_class(re.compile(r"\bjp-mod-commandMode\b"))
    expect(notebook).not_to_have_class(re.compile(r"\bjp-mod-editMode\b"))
    expect(focused).to_have_attribute("aria-label", "token 2 \u201c sat\u201d, value 0.25")
    assert cells.count() == count
    assert nb.evaluate("[...document.querySelectorAll('.jp-Notebook .jp-Cell')].findIndex(c => c.classList.contains('jp-mod-active'))") == active
    # Shortcuts with Ctrl still reach JupyterLab from a focused chip: Ctrl+S saves the notebook.
    tab = nb.locator(".jp-MainAreaWidget .lm-TabBar-tab.jp-mod-current, .lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-current").first
    expect(tab).to_have_class(re.compile(r"\bjp-mod-dirty\b"))  # the run left outputs unsaved
    nb.keyboard.press("Control+s")
    expect(tab).not_to_have_class(re.compile(r"\bjp-mod-dirty\b"))
    expect(focused).to_have_attribute("aria-label", "token 2 \u201c sat\u201d, value 0.25")

    # On to the first patching grid: Enter selects the focused cell, as a click does.
    for _ in range(10):
        nb.keyboard.press("Tab")
        if nb.evaluate("document.activeElement.getAttribute('role') === 'gridcell'"):
            break
    grid = nb.locator(".lenslab-widget.lenslab-patching").first
    expect(focused).to_have_attribute("aria-label", "layer L0, head H0, value 12")
    nb.keyboard.press("ArrowDown")
    nb.keyboard.press("ArrowRight")
    expect(grid.locator(".lenslab-tooltip")).to_contain_text("value1")
    nb.keyboard.press("Enter")
    expect(grid.locator(".lenslab-selection")).to_have_text("Selected: layer L1 \u00b7 head H1: 1")
    assert notebook.evaluate("n => n.classList.contains('jp-mod-commandMode')")
    assert nb.errors == []
