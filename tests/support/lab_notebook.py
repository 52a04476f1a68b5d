"""Open a notebook of given cells in a test's JupyterLab and run every cell (shared by the e2e tests)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional, Sequence

import nbformat


def write_notebook(path: Path, cells: Sequence[str]) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)


def open_and_run_all(context: Any, lab_url: str, root: Path, name: str, cells: Sequence[str]) -> Any:
    """Write ``cells`` as ``root/name``, open it in ``context`` and click Run All; returns the page.

    Each notebook opens in a workspace of its own: in JupyterLab's default workspace a server
    shared by several tests restores the other tests' notebooks, and Run All may run one of those.
    ``page.errors`` collects the page's uncaught errors.
    """
    from playwright.sync_api import expect

    write_notebook(root / name, cells)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(f"{lab_url}/lab/workspaces/{Path(name).stem}-e2e/tree/{name}")
    expect(page.locator(".jp-StatusBar-TextItem", has_text="| Idle")).to_be_visible(timeout=90_000)
    page.locator(".jp-Notebook .jp-Cell").first.click()  # focus the notebook, or Run All does nothing
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    return page


def wait_for_cells(
    page: Any, marker: str, widgets: int, timeout_s: float = 180, exact: bool = True, failure_png: Optional[Path] = None
) -> None:
    """Until an output shows ``marker`` and ``widgets`` LensLab widgets rendered (at least that many
    unless ``exact``); fails at once on a cell's traceback, and after ``timeout_s`` with a screenshot
    at ``failure_png`` if given."""
    deadline = time.monotonic() + timeout_s
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    done = page.locator(".jp-OutputArea-output", has_text=marker)
    rendered = page.locator(".lenslab-widget")
    while True:
        if errors.count():
            raise AssertionError(f"a cell failed:\n{errors.first.inner_text()}")
        count = rendered.count()
        if done.count() and (count == widgets if exact else count >= widgets):
            return
        if time.monotonic() > deadline:
            if failure_png is not None:
                page.screenshot(path=str(failure_png), full_page=True)
            raise AssertionError(f"Run All did not finish in {timeout_s} s ({count} widgets rendered)")
        page.wait_for_timeout(300)
