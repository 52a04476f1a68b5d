"""The JupyterLab sidebar in a real JupyterLab and browser, one user session in order.

Open a notebook and load a model, open the sidebar, browse the hook points, launch a patch
job and watch its progress, see the PatchingGrid in the panel, insert the equivalent code cell
and run it to get the same numbers, cancel a job, re-open a result from the history, then
restart the kernel and see the panel follow. Screenshots land in test-artifacts/e2e/sidebar-*.png.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.e2e

SETUP = '''
import json, torch
import lenslab
from transformer_lens import HookedTransformer, HookedTransformerConfig
try:
    model = HookedTransformer.from_pretrained("lenslab/attn-only-2l")
except Exception:  # until the embedded model lands: random weights, GPT-2's tokenizer
    from transformers import AutoTokenizer
    torch.manual_seed(0)
    model = HookedTransformer(HookedTransformerConfig(n_layers=2, n_heads=8, d_model=64, d_head=8, n_ctx=128, d_vocab=50257, attn_only=True))
    model.set_tokenizer(AutoTokenizer.from_pretrained("gpt2"))

# Two names that are single tokens for this tokenizer, in an IOI-style prompt pair of equal length.
names = [n for n in [" Mary", " John", " Tom", " Anna", " the", " a"] if len(model.to_tokens(n, prepend_bos=False)[0]) == 1]
a, b = names[:2]
clean = f"When{a} and{b} went to the store,{b} gave a drink to"
corrupted = f"When{a} and{b} went to the store,{a} gave a drink to"
assert model.to_tokens(clean).shape == model.to_tokens(corrupted).shape
print("SIDEBAR_JOB " + json.dumps({"clean": clean, "corrupted": corrupted, "correct": a, "incorrect": b}))
'''
CHECK = 'print("VALUES " + json.dumps(results_1.flatten().tolist()))'  # job 1's names (Insert as code)
# Slows every forward pass of stacked patched runs (batch > 1) so that a job lasts long enough to
# be cancelled by hand; the kernel restart at the end removes it.
SLOW = """
import time
slow = model.unembed.register_forward_pre_hook(lambda module, args: time.sleep(0.1) if args[0].shape[0] > 1 else None)
print("SLOW on")
"""
SIDEBAR = "#lenslab-sidebar"


def shot(page, artifacts: Path, name: str, locator=None) -> None:
    target = locator if locator is not None else page
    target.screenshot(path=str(artifacts / f"sidebar-{name}.png"))


def cell(page, index: int):
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def run_cell(page, index: int) -> None:
    """Click into the cell's editor and run it (Shift+Enter)."""
    cell(page, index).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")


def widen_sidebar(page, width: int) -> None:
    """Drag the handle between the left sidebar and the main area (the panel is narrow by default)."""
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle:visible").first
    box = handle.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(width, y, steps=5)
    page.mouse.up()


def output_text(page, index: int, prefix: str, timeout_s: float = 120) -> str:
    """The cell's output line that starts with `prefix`; fails at once on a traceback."""
    deadline = time.monotonic() + timeout_s
    outputs = cell(page, index).locator(".jp-OutputArea-output")
    while time.monotonic() < deadline:
        for text in outputs.all_inner_texts():
            if "Traceback" in text or "Error" in text.split("\n", 1)[0]:
                raise AssertionError(f"cell {index} failed:\n{text}")
            for line in text.splitlines():
                if line.startswith(prefix):
                    return line[len(prefix) :]
        page.wait_for_timeout(250)
    raise AssertionError(f"cell {index} printed no {prefix!r} within {timeout_s} s")


@pytest.fixture(scope="module")
def page(lab, browser, artifacts: Path):
    from playwright.sync_api import expect

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(c) for c in (SETUP, CHECK, SLOW)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, lab.root / "sidebar.ipynb")
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))  # type: ignore[attr-defined]
    # A workspace of its own: the layout this test leaves (sidebar open and widened) must not
    # carry over to the other browser tests, which share the server.
    page.goto(f"{lab.url}/lab/workspaces/sidebar-e2e/tree/sidebar.ipynb")
    expect(page.locator(".jp-StatusBar-TextItem", has_text="| Idle")).to_be_visible(timeout=90_000)
    try:
        yield page
    finally:
        shot(page, artifacts, "final")
        context.close()


def test_sidebar_session(page, artifacts: Path):
    from playwright.sync_api import expect

    sidebar = page.locator(SIDEBAR)
    status = sidebar.locator(".lenslab-sb-status")
    try:
        _session(page, sidebar, status, artifacts, expect)
    except Exception:
        shot(page, artifacts, "FAILED")
        raise
    assert page.errors == []  # type: ignore[attr-defined]


def _session(page, sidebar, status, artifacts: Path, expect) -> None:
    # The panel before lenslab is imported: it says so.
    page.locator(".jp-SideBar.jp-mod-left [data-id='lenslab-sidebar']").click()
    expect(status).to_contain_text("LensLab is not imported in this kernel", timeout=30_000)
    shot(page, artifacts, "not-imported", sidebar)

    # Load lenslab and a model: the panel connects after the cell and lists the model.
    run_cell(page, 0)
    job = json.loads(output_text(page, 0, "SIDEBAR_JOB "))
    expect(status).to_contain_text("Connected", timeout=30_000)
    model_row = sidebar.locator(".lenslab-sb-model[data-model='model']")
    expect(model_row).to_be_visible()
    expect(model_row).to_contain_text("2 layers")

    # Hook points: grouped by block, with symbolic shapes; filter, describe, copy.
    hooks = sidebar.locator(".lenslab-sb-hook")
    expect(sidebar.locator(".lenslab-sb-hook-count")).to_contain_text("hook points in model")
    groups = sidebar.locator(".lenslab-sb-group > summary").all_inner_texts()
    assert groups[0].startswith("Embeddings") and groups[1].startswith("Layer 0") and groups[-1].startswith("Final"), groups
    sidebar.locator(".lenslab-sb-filter").fill("attn hook_z")
    expect(hooks).to_have_count(2)  # blocks.0 and blocks.1
    z = sidebar.locator("[data-hook='blocks.0.attn.hook_z']")
    expect(z.locator(".lenslab-sb-shape")).to_have_text("[batch, pos, head_index, d_head]")
    z.click()
    detail = sidebar.locator(".lenslab-sb-hook-detail")
    expect(detail).to_contain_text("Pattern-weighted values, per head.")
    expect(detail).to_contain_text("head_index=8")
    z.locator(".lenslab-sb-copy").click()
    expect(sidebar.locator(".lenslab-sb-toast")).to_have_text("Copied blocks.0.attn.hook_z")
    assert page.evaluate("navigator.clipboard.readText()") == "blocks.0.attn.hook_z"
    shot(page, artifacts, "hooks", sidebar)
    sidebar.locator(".lenslab-sb-filter").fill("")
    # Hooks that never fire on this model (no set_use_attn_result yet) are listed, dimmed, "off".
    result = sidebar.locator("[data-hook='blocks.0.attn.hook_result']")
    expect(result).to_have_class(re.compile(r"\blenslab-sb-silent\b"))
    expect(result.locator(".lenslab-sb-off")).to_have_text("off")
    assert "set_use_attn_result(True)" in (result.get_attribute("title") or "")
    expect(sidebar.locator(".lenslab-sb-hook-count")).to_contain_text(" off)")

    # The patch form: a length mismatch is caught before submit, then the real job runs.
    form = sidebar.locator(".lenslab-sb-form")
    run = form.locator(".lenslab-sb-run")
    form.locator("[name='clean']").fill(job["clean"])
    form.locator("[name='corrupted']").fill(job["corrupted"] + " and more")
    form.locator("[name='correct']").fill(job["correct"])
    form.locator("[name='incorrect']").fill(job["incorrect"])
    form.locator("select[name='kind']").select_option("heads_by_pos")
    form.locator("select[name='metric']").select_option("normalized_logit_diff")
    expect(form.locator(".lenslab-sb-issue")).to_contain_text("patching needs the same number of tokens", timeout=30_000)
    expect(run).to_be_disabled()
    form.locator("[name='corrupted']").fill(job["corrupted"])
    expect(form.locator(".lenslab-sb-note")).to_contain_text("tokens each", timeout=30_000)
    expect(run).to_be_enabled()
    shot(page, artifacts, "form", sidebar.locator(".lenslab-sb-form-section"))
    run.click()

    # Progress streams in; the result is the PatchingGrid widget, in the panel.
    first = sidebar.locator(".lenslab-sb-job[data-job-id='1']")
    expect(first).to_be_visible(timeout=30_000)
    expect(first).to_have_attribute("data-status", "done", timeout=120_000)
    assert int(first.get_attribute("data-progress-updates")) >= 2, "progress was not streamed"
    result = sidebar.locator(".lenslab-sb-result[data-job-id='1']")
    grid = result.locator(".lenslab-sb-grid .lenslab-widget.lenslab-patching")
    expect(grid).to_be_visible(timeout=60_000)
    expect(grid.locator(".lenslab-row-label").first).to_be_visible()
    panel_values = json.loads(result.get_attribute("data-values"))
    shape = json.loads(result.get_attribute("data-shape"))
    assert shape[0] == 2 and len(panel_values) == shape[0] * shape[1] * shape[2]
    widen_sidebar(page, 640)
    result.scroll_into_view_if_needed()
    shot(page, artifacts, "result", sidebar)

    # Insert as code below the first cell, run it and the check cell: the same numbers.
    cell(page, 0).locator(".jp-InputArea-prompt").click()  # make the first cell the active one
    result.locator(".lenslab-sb-insert-code").click()
    expect(cell(page, 1)).to_contain_text("patching.get_act_patch_attn_head_out_by_pos(")
    run_cell(page, 1)
    expect(cell(page, 1).locator(".lenslab-widget.lenslab-patching")).to_be_visible(timeout=120_000)
    run_cell(page, 2)
    notebook_values = json.loads(output_text(page, 2, "VALUES "))
    assert notebook_values == panel_values
    shot(page, artifacts, "inserted-code")
    cell(page, 1).scroll_into_view_if_needed()
    shot(page, artifacts, "inserted-cell", cell(page, 1))

    # A longer job (slowed down), cancelled mid-way; then re-open the first result from the history.
    run_cell(page, 3)
    output_text(page, 3, "SLOW on")
    form.locator("select[name='kind']").select_option("head_components_by_pos")
    expect(run).to_be_enabled(timeout=30_000)
    run.click()
    second = sidebar.locator(".lenslab-sb-job[data-job-id='2']")
    expect(second).to_have_attribute("data-status", "running", timeout=60_000)
    expect(second.locator("progress")).to_be_visible()
    shot(page, artifacts, "progress", sidebar.locator(".lenslab-sb-jobs-section"))  # the job's own node is re-rendered
    second.locator(".lenslab-sb-cancel").click()
    expect(second).to_have_attribute("data-status", "cancelled", timeout=60_000)
    expect(second.locator(".lenslab-sb-job-status")).to_contain_text("cancelled after")
    result.locator(".lenslab-sb-close").click()
    expect(result).to_be_hidden()
    first.locator(".lenslab-sb-show").click()
    expect(result.locator(".lenslab-sb-grid .lenslab-patching")).to_be_visible(timeout=30_000)

    # Restart the kernel: the panel forgets the dead kernel's jobs and follows the new one.
    page.get_by_role("menuitem", name="Kernel", exact=True).click()
    page.get_by_role("menuitem", name="Restart Kernel…").click()
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    expect(status).to_contain_text("LensLab is not imported in this kernel", timeout=60_000)
    expect(sidebar.locator(".lenslab-sb-job")).to_have_count(0)
    run_cell(page, 0)
    expect(status).to_contain_text("Connected", timeout=60_000)
    expect(sidebar.locator(".lenslab-sb-model[data-model='model']")).to_be_visible()
    expect(run).to_be_enabled(timeout=30_000)  # the kept form is checked against the new kernel
    shot(page, artifacts, "after-restart", sidebar)
