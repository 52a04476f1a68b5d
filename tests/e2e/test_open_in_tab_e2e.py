"""The "Open in tab" button on a widget's own toolbar (issue 17): in JupyterLab the button is there, and a
click opens the widget's cell output in a main-area tab (JupyterLab's cloned output view), where
the same live PatchingGrid renders wider than in the notebook.

The server serves this checkout's labextension (JUPYTER_PATH first) and the kernel imports this
checkout's lenslab (PYTHONPATH is inherited), so the test sees the bundles built here.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from server_process import jupyter_server

pytestmark = pytest.mark.e2e

LABEXTENSION = Path(__file__).resolve().parents[2] / "py_src" / "lenslab" / "labextension"
CELLS = [
    "import numpy as np\nimport lenslab",
    "lenslab.PatchingGrid(np.linspace(-1, 1, 2 * 40).reshape(2, 40), kind='layer_pos', title='Tab grid')",
]


def test_open_in_tab_button_opens_the_grid_in_a_main_area_tab(tmp_path: Path, browser, artifacts: Path) -> None:
    from playwright.sync_api import expect

    if not (LABEXTENSION / "package.json").is_file():
        pytest.skip("the labextension is not built in this checkout (jlpm build)")
    data = tmp_path / "data"
    (data / "labextensions").mkdir(parents=True)
    (data / "labextensions" / "lenslab").symlink_to(LABEXTENSION)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", os.pathsep.join(p for p in (str(data), os.environ.get("JUPYTER_PATH", "")) if p))
        with jupyter_server("jupyterlab", tmp_path, artifacts / "jupyterlab-open-in-tab.log") as (url, root):
            nbformat.write(notebook, root / "tab.ipynb")
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            try:
                page.goto(f"{url}/lab/tree/tab.ipynb")
                expect(page.locator(".jp-StatusBar-TextItem", has_text="| Idle")).to_be_visible(timeout=90_000)
                page.locator(".jp-Notebook .jp-Cell").first.click()
                page.get_by_role("menuitem", name="Run", exact=True).click()
                page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
                inline = page.locator(".jp-Notebook .lenslab-widget.lenslab-patching")
                expect(inline).to_have_count(1, timeout=120_000)
                button = inline.locator("button.lenslab-open-tab")
                expect(button).to_have_text("Open in tab")
                assert page.locator(".jp-LinkedOutputView").count() == 0
                button.click()
                tab = page.locator(".jp-LinkedOutputView .lenslab-widget.lenslab-patching")
                expect(tab).to_be_visible(timeout=20_000)
                expect(tab.locator(".lenslab-title")).to_have_text("Tab grid")
                # The same grid, in a main-area tab of its own (a new tab in the dock panel).
                expect(page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="Output View")).to_have_count(1)
                assert tab.locator(".lenslab-row-label").all_inner_texts() == ["L0", "L1"]
                # "Full size": the tab spans the main area, so the grid is drawn wider than inline.
                assert tab.bounding_box()["width"] > inline.bounding_box()["width"]
                page.screenshot(path=str(artifacts / "open-in-tab.png"))
                # In the tab the widget is in no notebook cell, so the button (a no-op there) is hidden.
                expect(tab.locator("button.lenslab-open-tab")).to_be_hidden()
                assert page.locator(".jp-LinkedOutputView").count() == 1
                assert errors == []
            except Exception:
                page.screenshot(path=str(artifacts / "FAILED-open-in-tab.png"), full_page=True)
                raise
            finally:
                context.close()
