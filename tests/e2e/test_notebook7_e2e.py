"""The widgets in Notebook 7 (not only JupyterLab): a PatchingGrid and an AttentionPatterns render and hover.

Starts `python -m notebook` on 127.0.0.1 with a throwaway config, opens /notebooks/<name>.ipynb in the
system chromium (the `browser` fixture of conftest.py), runs every cell and inspects the outputs.
A screenshot lands in test-artifacts/e2e/notebook7-widgets.png.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Iterator

import nbformat
import pytest
from server_process import get_json, jupyter_server

pytestmark = pytest.mark.e2e

CELLS = [
    "import torch\n"
    "import lenslab\n"
    "from transformer_lens import HookedTransformer, HookedTransformerConfig, patching\n"
    "torch.manual_seed(0)\n"
    "cfg = HookedTransformerConfig(n_layers=2, n_heads=4, d_model=32, d_head=8, d_mlp=64, n_ctx=16, d_vocab=50, act_fn='gelu')\n"
    "model = HookedTransformer(cfg)\n"
    "clean = torch.randint(0, 50, (1, 6))\n"
    "corrupt = clean.roll(1, dims=-1)\n"
    "logits, cache = model.run_with_cache(clean)\n"
    "answer = int(logits[0, -1].argmax())\n"
    "def metric(patched):\n"
    "    return patched[0, -1, answer] - patched[0, -1].mean()\n"
    "words = [f'tok{i}' for i in range(clean.shape[1])]",
    "results = patching.get_act_patch_attn_head_out_all_pos(model, corrupt, cache, metric, progress=False)\n"
    "grid = lenslab.PatchingGrid(results, kind=patching.get_act_patch_attn_head_out_all_pos, model=model)\n"
    "grid",
    "attn = lenslab.AttentionPatterns(words, cache=cache, layer=0)\n"
    "attn",
    "print('DONE')",
    "print('SELECTED', grid.selected)",  # run again after the click below
]


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[tuple[str, Path]]:
    """A Notebook 7 server with its own config, settings and notebook folder (as the `lab` fixture has)."""
    pytest.importorskip("notebook", minversion="7")
    with jupyter_server("notebook", tmp_path_factory.mktemp("nb7"), artifacts / "notebook7.log", startup_s=60) as server:
        yield server


def _wait_for_idle_kernel(url: str, timeout_s: float = 60) -> None:
    """The page started a kernel for the notebook and it is idle (Notebook 7 has no '| Idle' status item)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            sessions = get_json(f"{url}/api/sessions")
        except OSError:
            sessions = []
        if any((s.get("kernel") or {}).get("execution_state") == "idle" for s in sessions):
            return
        time.sleep(0.5)
    raise AssertionError(f"no idle kernel within {timeout_s} s: {sessions}")


def _known_notebook_error(e) -> bool:
    """Notebook 7.6's own shortcuts plugin throws this on every page load, with or without lenslab
    (checked with no config at all and with the lenslab, anywidget and widget-manager extensions disabled)."""
    stack = (e.stack or "").splitlines()
    return "reading 'schema'" in str(e) and len(stack) > 1 and "/static/notebook/notebook_core." in stack[1]


def test_widgets_render_and_hover_in_notebook7(notebook7, browser, artifacts: Path):
    from playwright.sync_api import expect

    url, root = notebook7
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "nb7.ipynb")

    context = browser.new_context(viewport={"width": 1300, "height": 1400})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: None if _known_notebook_error(e) else errors.append(f"{e}\n{e.stack}"))
    try:
        page.goto(f"{url}/notebooks/nb7.ipynb")
        expect(page.locator(".jp-Notebook .jp-Cell")).to_have_count(len(CELLS), timeout=60_000)
        _wait_for_idle_kernel(url)
        page.locator(".jp-Notebook .jp-Cell").first.click()  # focus the notebook so Run All applies to it
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

        stderr = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        done = page.locator(".jp-OutputArea-output", has_text="DONE")
        widgets = page.locator(".lenslab-widget")
        deadline = time.monotonic() + 45
        while not (done.count() and widgets.count() == 2):
            assert stderr.count() == 0, f"a cell failed:\n{stderr.first.inner_text()}"
            assert time.monotonic() < deadline, f"Run All did not finish ({widgets.count()} widgets rendered)"
            page.wait_for_timeout(250)

        grid = page.locator(".lenslab-widget.lenslab-patching")
        attn = page.locator(".lenslab-widget.lenslab-attention")
        expect(grid).to_have_count(1)
        expect(attn).to_have_count(1)
        assert page.locator(".lenslab-error:not([hidden])").count() == 0

        # PatchingGrid: a canvas heatmap with layer/head labels and a colour bar; hovering shows the value.
        canvas = grid.locator("canvas.lenslab-heatmap-canvas").first
        expect(canvas).to_be_visible()
        assert grid.locator(".lenslab-colorbar").count() == 1
        assert grid.locator(".lenslab-row-label").all_inner_texts()[:2] == ["L0", "L1"]
        assert grid.locator(".lenslab-col-label").all_inner_texts() == ["H0", "H1", "H2", "H3"]
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        cell_w, cell_h = box["width"] / 4, box["height"] / 2
        canvas.hover(position={"x": 2.5 * cell_w, "y": 1.5 * cell_h})
        expect(grid.locator(".lenslab-tooltip")).to_be_visible()
        expect(grid.locator(".lenslab-tooltip")).to_contain_text("value")
        readout = grid.locator(".lenslab-readout")
        expect(readout).to_contain_text("layer L1 \u00b7 head H2:")
        assert re.search(r":\s*-?[0-9.e+-]+\s*$", readout.inner_text()), readout.inner_text()

        # Click-to-Python: clicking a cell sets grid.selected in the kernel.
        canvas.click(position={"x": 2.5 * cell_w, "y": 1.5 * cell_h})
        expect(grid.locator(".lenslab-selection")).to_contain_text("layer L1 \u00b7 head H2")
        last = page.locator(".jp-Notebook .jp-Cell").nth(len(CELLS) - 1)
        last.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        selected = page.locator(".jp-OutputArea-output", has_text="SELECTED {")
        expect(selected).to_have_count(1, timeout=30_000)
        assert "'row': 1, 'col': 2" in selected.inner_text() and "'layer': 1, 'head': 2" in selected.inner_text()

        # AttentionPatterns: one thumbnail per head, the big view's canvas, the tokens.
        thumbs = attn.locator(".lenslab-thumb")
        expect(thumbs).to_have_count(4)
        assert attn.locator(".lenslab-head-name").inner_text() == "L0H0"
        expect(attn.locator(".lenslab-plot canvas.lenslab-heatmap-canvas")).to_be_visible()
        assert attn.locator(".lenslab-token").count() == 6

        page.screenshot(path=str(artifacts / "notebook7-widgets.png"), full_page=True)
        assert errors == []
    except Exception:
        page.screenshot(path=str(artifacts / "FAILED-notebook7.png"), full_page=True)
        raise
    finally:
        context.close()
