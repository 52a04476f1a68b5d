"""The widgets in a real JupyterLab and a real browser: render, hover, click-to-Python, export, speed.

One notebook runs once (module fixture); the tests then inspect and drive its outputs in order.
Screenshots land in test-artifacts/e2e/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lab_notebook import open_and_run_all, wait_for_cells

pytestmark = pytest.mark.e2e

SETUP = '''
import time
import torch
import lenslab
from transformer_lens import HookedTransformer, HookedTransformerConfig, patching

try:
    model = HookedTransformer.from_pretrained("lenslab/attn-only-2l")
    MODEL = "lenslab/attn-only-2l"
except Exception as exc:  # the embedded model has not landed yet: random weights, GPT-2's tokenizer
    torch.manual_seed(0)
    cfg = HookedTransformerConfig(n_layers=2, n_heads=8, d_model=64, d_head=8, d_mlp=256, n_ctx=128, d_vocab=50257, act_fn="gelu")
    model = HookedTransformer(cfg)
    from transformers import AutoTokenizer
    model.set_tokenizer(AutoTokenizer.from_pretrained("gpt2"))
    MODEL = f"random fallback ({type(exc).__name__})"
prompt = "When Mary and John went to the store, John gave a drink to"
corrupt = "When Mary and John went to the store, Mary gave a drink to"
clean_tokens, corrupt_tokens = model.to_tokens(prompt), model.to_tokens(corrupt)
if corrupt_tokens.shape != clean_tokens.shape:  # a small vocabulary may split the names differently
    corrupt_tokens = clean_tokens.roll(1, dims=-1)
logits, cache = model.run_with_cache(clean_tokens)
answer = int(logits[0, -1].argmax())  # the clean run's prediction, whatever the tokenizer
def metric(patched_logits):
    return patched_logits[0, -1, answer] - patched_logits[0, -1].mean()
print("MODEL", MODEL, "| tokens", clean_tokens.shape[1])
'''

CELLS = [
    SETUP,
    "attn = lenslab.AttentionPatterns(prompt, cache, layer=0)\nattn",
    "cache",  # rich display: importing lenslab made the cache show its explorer
    "results = patching.get_act_patch_attn_head_all_pos_every(model, corrupt_tokens, cache, metric, progress=False)\n"
    "grid = lenslab.PatchingGrid(results, kind=patching.get_act_patch_attn_head_all_pos_every, model=model, tokens=clean_tokens)\n"
    "grid",
    "resid = patching.get_act_patch_resid_pre(model, corrupt_tokens, cache, metric, progress=False)\n"
    "lenslab.show(resid, kind='get_act_patch_resid_pre', model=model, tokens=clean_tokens)",
    "torch.manual_seed(1)\n"
    "mask = torch.ones(512, 512).triu(1).bool()\n"
    "big = (3 * torch.randn(12, 512, 512)).masked_fill(mask, float('-inf')).softmax(-1)\n"
    "big_view = lenslab.AttentionPatterns(None, big, layer=5, title='12 heads x 512 x 512')\n"
    "big_view",
    "print('SELECTED', grid.selected)",
]
N_WIDGETS = 5


@pytest.fixture(scope="module")
def nb(lab, browser, artifacts: Path):
    """The notebook opened in JupyterLab with every cell run and every widget rendered."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = open_and_run_all(context, lab.url, lab.root, "widgets.ipynb", CELLS)
    try:
        wait_for_run_all(page)
    except AssertionError:
        page.screenshot(path=str(artifacts / "FAILED-run-all.png"), full_page=True)
        raise
    yield page
    page.screenshot(path=str(artifacts / "notebook-final.png"))
    context.close()


def wait_for_run_all(page, timeout_s: float = 300) -> None:
    """Until the last cell printed and every widget rendered; fails at once on a traceback."""
    wait_for_cells(page, "SELECTED None", widgets=N_WIDGETS, timeout_s=timeout_s)


def widget(page, kind: str, index: int = 0):
    return page.locator(f".lenslab-widget.lenslab-{kind}").nth(index)


def shot(locator, artifacts: Path, name: str) -> None:
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(artifacts / f"{name}.png"))


def test_notebook_ran_on_a_model_without_errors(nb):
    out = nb.locator(".jp-OutputArea-output", has_text="MODEL").first.inner_text()
    assert out.startswith("MODEL ")
    nb.n_tokens = int(out.rsplit("| tokens", 1)[1])  # type: ignore[attr-defined]
    assert nb.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    assert nb.locator(".lenslab-error:not([hidden])").count() == 0
    assert nb.errors == []


def test_attention_patterns_render_and_hover_shows_where_a_token_attends(nb, artifacts):
    from playwright.sync_api import expect

    w = widget(nb, "attention")
    w.scroll_into_view_if_needed()
    thumbs = w.locator(".lenslab-thumb")
    n_heads = thumbs.count()
    assert n_heads >= 1
    assert [thumbs.nth(i).get_attribute("aria-label") for i in range(n_heads)] == [f"L0H{h}, Layer 0 head {h}" for h in range(n_heads)]
    assert [thumbs.nth(i).locator(".lenslab-thumb-name").inner_text() for i in range(n_heads)] == [f"L0H{h}" for h in range(n_heads)]
    assert w.locator(".lenslab-head-name").inner_text() == "L0H0"
    tokens = w.locator(".lenslab-token")
    n_tokens = tokens.count()
    assert n_tokens == nb.n_tokens

    dest = tokens.nth(n_tokens - 1)
    dest.hover()
    readout = w.locator(".lenslab-readout")
    expect(readout).to_contain_text("attends to")
    assert re.search(r"\(\d+\) [01](\.\d+)?", readout.inner_text()), readout.inner_text()
    values = [v for v in w.locator(".lenslab-token-value").all_inner_texts() if v]
    assert values and all(0 <= float(v) <= 1 for v in values)
    shot(w, artifacts, "attention-hover-token")

    thumbs.nth(n_heads - 1).click()
    expect(w.locator(".lenslab-head-name")).to_have_text(f"L0H{n_heads - 1}")
    canvas = w.locator(".lenslab-plot canvas.lenslab-heatmap-canvas")
    box = canvas.bounding_box()
    cell = box["width"] / n_tokens
    canvas.hover(position={"x": 1.5 * cell, "y": (n_tokens - 0.5) * cell})
    tooltip = w.locator(".lenslab-tooltip")
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text("weight")
    assert re.search(r"weight\s*[0-9.e-]+", tooltip.inner_text())
    shot(w, artifacts, "attention-hover-cell")


def test_cache_explorer_lists_hooks_and_shows_slices(nb, artifacts):
    from playwright.sync_api import expect

    w = widget(nb, "cache")
    w.scroll_into_view_if_needed()
    rows = w.locator(".lenslab-hook[data-name]")
    assert rows.count() > 20
    groups = w.locator(".lenslab-group > summary").all_inner_texts()
    assert groups[0].startswith("Embeddings") and any(g.startswith("Layer 1") for g in groups)
    assert w.locator(".lenslab-attention-view .lenslab-thumb").count() >= 1  # the first pattern opens in the attention view
    shot(w, artifacts, "cache-explorer-pattern")

    w.locator("[data-name='blocks.0.hook_resid_post']").click()
    expect(w.locator(".lenslab-hook-title")).to_have_text("blocks.0.hook_resid_post")
    expect(w.locator(".lenslab-slice canvas.lenslab-heatmap-canvas")).to_be_visible()
    stats = w.locator(".lenslab-stats").inner_text()
    assert "mean" in stats and "std" in stats and "norm" in stats
    canvas = w.locator(".lenslab-slice canvas.lenslab-heatmap-canvas")
    box = canvas.bounding_box()
    canvas.hover(position={"x": box["width"] * 0.4, "y": box["height"] * 0.5})
    expect(w.locator(".lenslab-cache-detail > .lenslab-readout")).to_contain_text("position")
    assert re.search(r": -?[0-9.e+-]+$", w.locator(".lenslab-cache-detail > .lenslab-readout").inner_text())
    shot(w, artifacts, "cache-explorer-heatmap")

    w.locator("select.lenslab-control-pos").select_option("3")
    expect(w.locator(".lenslab-line")).to_be_visible()
    shot(w, artifacts, "cache-explorer-line")


def test_patching_grid_has_five_labelled_panels_and_hover_values(nb, artifacts):
    from playwright.sync_api import expect

    w = widget(nb, "patching")
    w.scroll_into_view_if_needed()
    assert w.locator("figcaption").all_inner_texts() == ["output", "query", "key", "value", "pattern"]
    assert w.locator(".lenslab-colorbar").count() == 1
    first = w.locator(".lenslab-panel").first
    assert first.locator(".lenslab-row-label").all_inner_texts()[:2] == ["L0", "L1"]
    assert first.locator(".lenslab-col-label").all_inner_texts()[0] == "H0"
    canvas = w.locator(".lenslab-panel").nth(1).locator("canvas.lenslab-heatmap-canvas")
    box = canvas.bounding_box()
    n_cols = len(first.locator(".lenslab-col-label").all_inner_texts())
    cell = box["width"] / n_cols
    canvas.hover(position={"x": 2.5 * cell, "y": 1.5 * cell})
    expect(w.locator(".lenslab-tooltip")).to_contain_text("value")
    expect(w.locator(".lenslab-readout")).to_contain_text("query \u00b7 layer L1 \u00b7 head H2:")
    shot(w, artifacts, "patching-grid-hover")

    resid = widget(nb, "patching", 1)  # shown with lenslab.show: positions labelled by tokens
    labels = resid.locator(".lenslab-col-label").all_inner_texts()
    assert labels and any(re.search("[A-Za-z]", label) for label in labels)  # string tokens, not indices
    shot(resid, artifacts, "patching-grid-resid-pre")


def test_clicking_a_cell_updates_the_python_traitlet(nb, artifacts):
    from playwright.sync_api import expect

    w = widget(nb, "patching")
    canvas = w.locator(".lenslab-panel").nth(1).locator("canvas.lenslab-heatmap-canvas")
    box = canvas.bounding_box()
    n_cols = len(w.locator(".lenslab-panel").first.locator(".lenslab-col-label").all_inner_texts())
    cell = box["width"] / n_cols
    canvas.click(position={"x": 2.5 * cell, "y": 1.5 * cell})
    expect(w.locator(".lenslab-selection")).to_contain_text("Selected: query \u00b7 layer L1 \u00b7 head H2")
    shot(w, artifacts, "patching-grid-selected")

    last = nb.locator(".jp-Notebook .jp-Cell").nth(len(CELLS) - 1)
    last.locator(".jp-InputArea-editor").click()
    nb.keyboard.press("Shift+Enter")
    out = nb.locator(".jp-OutputArea-output", has_text="SELECTED {")
    expect(out).to_have_count(1, timeout=30_000)
    text = out.inner_text()
    assert "'panel': 1, 'row': 1, 'col': 2" in text
    assert "'component': 'query', 'layer': 1, 'head': 2" in text


def test_export_buttons_download_png_and_svg(nb, artifacts):
    w = widget(nb, "patching")
    with nb.expect_download() as png:
        w.get_by_role("button", name="PNG").click()
    png_path = artifacts / png.value.suggested_filename
    png.value.save_as(png_path)
    assert png_path.suffix == ".png" and png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with nb.expect_download() as svg:
        w.get_by_role("button", name="SVG").click()
    svg_text = Path(svg.value.path()).read_text()
    assert svg.value.suggested_filename.endswith(".svg")
    assert svg_text.startswith("<svg") and "query" in svg_text and "<rect" in svg_text
    (artifacts / svg.value.suggested_filename).write_text(svg_text)


def test_a_12x512x512_pattern_renders_within_a_second(nb, artifacts, capsys):
    from playwright.sync_api import expect

    w = widget(nb, "attention", 1)
    w.scroll_into_view_if_needed()
    expect(w.locator(".lenslab-thumb")).to_have_count(12)
    expect(w).to_have_attribute("data-paint-ms", re.compile(r"\d"))
    render_ms = float(w.get_attribute("data-render-ms"))
    paint_ms = float(w.get_attribute("data-paint-ms"))
    line = f"12x512x512 attention pattern (float16 payload): render {render_ms:.0f} ms, to next painted frame {paint_ms:.0f} ms"
    (artifacts / "render-time.txt").write_text(line + "\n")
    with capsys.disabled():
        print(f"\n[e2e] {line}")
    assert max(render_ms, paint_ms) < 1000
    w.locator(".lenslab-token").nth(300).hover()
    assert "attends to" in w.locator(".lenslab-readout").inner_text()
    shot(w, artifacts, "attention-12x512x512")
    assert nb.errors == []
