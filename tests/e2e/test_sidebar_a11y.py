"""The sidebar in both themes, checked by axe-core, and its result views (issue 17).

One session: load the embedded lenslab/attn-only-2l, fill the form with its example job, run it,
then with a model, a hook, and the finished job selected:

- axe-core (node_modules/axe-core) runs on the sidebar in the light and the dark theme and no
  colour-contrast violation is allowed; the selected rows' contrast ratios are printed;
  docs/screenshots/sidebar-light.png and sidebar-dark.png are written from this state;
- at JupyterLab's default sidebar width (250 px) every head label and the colourbar of the
  result grid lie inside the panel's box;
- "Open in tab" shows the same grid in a main-area tab, larger;
- "Insert as code" writes job 1's names (results_1, metric_1, ...) and leaves the notebook's own
  ``metric`` and ``results`` alone, with the same numbers as the panel.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

import pytest
from server_process import jupyter_server

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
LABEXTENSION = ROOT / "py_src" / "lenslab" / "labextension"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
SIDEBAR = "#lenslab-sidebar"

SETUP = """
import lenslab
from transformer_lens import HookedTransformer
model = HookedTransformer.from_pretrained("lenslab/attn-only-2l")
metric, results = "my metric", "my results"  # the notebook's own names: Insert as code must keep them
print("READY", model.cfg.n_heads)
"""
CHECK = """
import json
print("KEPT", metric == "my metric" and results == "my results")
print("VALUES " + json.dumps(results_1.flatten().tolist()))
"""


def cell(page, index: int):
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def run_cell(page, index: int) -> None:
    cell(page, index).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")


def output_line(page, index: int, prefix: str, timeout_ms: int = 120_000) -> str:
    from playwright.sync_api import expect

    out = cell(page, index).locator(".jp-OutputArea-output", has_text=prefix)
    expect(out.first).to_be_visible(timeout=timeout_ms)
    text = "\n".join(cell(page, index).locator(".jp-OutputArea-output").all_inner_texts())
    assert "Traceback" not in text, text
    return next(line[len(prefix) :] for line in text.splitlines() if line.startswith(prefix))


def run_axe(page) -> dict:
    """axe-core on the sidebar, every WCAG 2 A/AA rule; the result object."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    # Each colour-contrast node gets `row`: the kind of selected row it sits in (model, hook, job), if any.
    return page.evaluate(
        """async (selector) => {
          // JupyterLab's <body> is 0 px high with overflow: hidden (its content is absolutely
          // positioned); axe reads that as clipping everything, so it would check no text at all.
          // Giving <html> and <body> the viewport's height changes nothing on screen.
          document.documentElement.style.height = '100%';
          document.body.style.height = '100%';
          const result = await window.axe.run(document.querySelector(selector),
              { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] }, resultTypes: ['violations', 'passes', 'incomplete'] });
          for (const rule of [...result.passes, ...result.incomplete].filter((r) => r.id === 'color-contrast')) {
            for (const node of rule.nodes) {
              const row = document.querySelector(node.target[0])?.closest('.lenslab-sb-selected');
              node.row = row ? ['model', 'hook', 'job'].find((k) => row.classList.contains('lenslab-sb-' + k)) ?? 'other' : null;
            }
          }
          return result;
        }""",
        SIDEBAR,
    )


def contrast_report(result: dict) -> tuple[list[str], dict[str, float]]:
    """The colour-contrast violations (one line each) and the lowest ratio axe measured in each selected row."""
    violations = [
        f"{node['target']}: {node['any'][0]['message'] if node['any'] else node['failureSummary']}"
        for rule in result["violations"]
        if rule["id"] == "color-contrast"
        for node in rule["nodes"]
    ]
    lowest: dict[str, float] = {}
    for rule in result["passes"]:
        if rule["id"] != "color-contrast":
            continue
        for node in rule["nodes"]:
            data = node["any"][0].get("data") or {}
            if node.get("row") and "contrastRatio" in data:
                lowest[node["row"]] = min(lowest.get(node["row"], 99.0), round(float(data["contrastRatio"]), 2))
    return violations, lowest


def set_theme(page, name: str, light: bool) -> None:
    from playwright.sync_api import expect

    def item(label: str):  # submenus and their items are not role=menuitem buttons
        return page.locator(".lm-Menu .lm-Menu-item").filter(has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(label)}$")))

    page.get_by_role("menuitem", name="Settings", exact=True).click()
    item("Theme").click()
    item(name).click()
    expect(page.locator(f"body[data-jp-theme-light='{str(light).lower()}']")).to_be_attached(timeout=30_000)
    page.wait_for_timeout(500)  # the theme's stylesheet applies after the attribute


def inside(box: dict, outer: dict, slack: float = 1.0) -> bool:
    return (
        box["x"] >= outer["x"] - slack
        and box["y"] >= outer["y"] - slack
        and box["x"] + box["width"] <= outer["x"] + outer["width"] + slack
        and box["y"] + box["height"] <= outer["y"] + outer["height"] + slack
    )


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[SimpleNamespace]:
    """A JupyterLab of its own whose `lenslab` labextension is this checkout's build (a copy in a
    data dir put first on JUPYTER_PATH), so the test checks this tree's sidebar, not an installed one."""
    tmp = tmp_path_factory.mktemp("a11y-lab")
    with pytest.MonkeyPatch.context() as mp:
        if (LABEXTENSION / "package.json").exists():
            target = tmp / "data" / "labextensions" / "lenslab"
            shutil.copytree(LABEXTENSION, target)
            shutil.copy(ROOT / "install.json", target / "install.json")
            mp.setenv("JUPYTER_PATH", os.pathsep.join(p for p in (str(tmp / "data"), os.environ.get("JUPYTER_PATH", "")) if p))
        log = artifacts / "jupyterlab-a11y.log"
        server = tmp / "server"
        server.mkdir()
        with jupyter_server("jupyterlab", server, log) as (url, root):
            yield SimpleNamespace(url=url, root=root, log=log)


@pytest.fixture(scope="module")
def page(lab, browser, artifacts: Path):
    import nbformat
    from playwright.sync_api import expect

    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run jlpm install (axe-core is a devDependency)")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(c) for c in (SETUP, CHECK)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, lab.root / "a11y.ipynb")
    # Tall enough for the whole panel without scrolling: axe skips what a scroll box hides, and
    # the screenshots show every section.
    context = browser.new_context(viewport={"width": 1400, "height": 2000})
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))  # type: ignore[attr-defined]
    page.goto(f"{lab.url}/lab/workspaces/sidebar-a11y/tree/a11y.ipynb")
    expect(page.locator(".jp-StatusBar-TextItem", has_text="| Idle")).to_be_visible(timeout=90_000)
    try:
        yield page
    finally:
        page.screenshot(path=str(artifacts / "sidebar-a11y-final.png"))
        context.close()


def test_sidebar_contrast_fit_tab_and_inserted_names(page, artifacts: Path):
    from playwright.sync_api import expect

    sidebar = page.locator(SIDEBAR)
    page.locator(".jp-SideBar.jp-mod-left [data-id='lenslab-sidebar']").click()
    run_cell(page, 0)
    n_heads = int(output_line(page, 0, "READY "))
    expect(sidebar.locator(".lenslab-sb-status")).to_contain_text("Connected", timeout=60_000)
    model_row = sidebar.locator(".lenslab-sb-model[data-model='model']")
    expect(model_row.locator(".lenslab-sb-checkpoint")).to_have_text("lenslab/attn-only-2l")

    # The example job, run from the form.
    form = sidebar.locator(".lenslab-sb-form")
    form.locator(".lenslab-sb-example").click()
    form.locator("select[name='kind']").select_option("heads_all_pos")
    form.locator("select[name='metric']").select_option("logit_diff")
    run = form.locator(".lenslab-sb-run")
    expect(run).to_be_enabled(timeout=30_000)
    run.click()
    job = sidebar.locator(".lenslab-sb-job[data-job-id='1']")
    expect(job).to_have_attribute("data-status", "done", timeout=120_000)
    title = job.locator(".lenslab-sb-job-title")
    assert title.inner_text().endswith("Logit difference (correct - incorrect), last position")
    assert "clean: " in (title.get_attribute("title") or "")
    result = sidebar.locator(".lenslab-sb-result[data-job-id='1']")
    grid = result.locator(".lenslab-sb-grid .lenslab-patching")
    expect(grid).to_be_visible(timeout=60_000)
    expect(grid.locator(".lenslab-col-label").first).to_be_visible()
    sidebar.locator("[data-hook='blocks.0.attn.hook_z']").click()
    for selected in (model_row, job, sidebar.locator("[data-hook='blocks.0.attn.hook_z']")):
        expect(selected).to_have_class(re.compile(r"\blenslab-sb-selected\b"))

    # Fit: the panel at JupyterLab's default width holds every head label and the colourbar.
    panel_box = sidebar.bounding_box()
    assert panel_box["width"] <= 260, f"the sidebar is {panel_box['width']} px wide, not JupyterLab's default 250"
    result.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    frame = result.locator(".lenslab-sb-grid")
    assert float(frame.get_attribute("data-scale")) < 1.0
    frame_box = frame.bounding_box()
    labels = grid.locator(".lenslab-col-label")
    assert labels.count() >= 1
    for i in range(labels.count()):
        box = labels.nth(i).bounding_box()
        assert box and inside(box, panel_box) and inside(box, frame_box, 2), (labels.nth(i).inner_text(), box, panel_box)
    colorbar = grid.locator(".lenslab-colorbar")
    expect(colorbar).to_be_visible()
    assert inside(colorbar.bounding_box(), panel_box) and inside(colorbar.bounding_box(), frame_box, 2)
    shot_fit = artifacts / "sidebar-fit-250.png"
    sidebar.screenshot(path=str(shot_fit))

    # axe in the light theme, then the dark one: no colour-contrast violation in either.
    figures = {}
    for theme, light, shot in (("JupyterLab Light", True, "sidebar-light.png"), ("JupyterLab Dark", False, "sidebar-dark.png")):
        if not light:
            set_theme(page, theme, light)
        body = sidebar.locator(".lenslab-sb-body")
        assert body.evaluate("(el) => el.scrollHeight <= el.clientHeight + 1"), "the panel scrolls: axe would skip part of it"
        axe = run_axe(page)
        (artifacts / f"axe-{'light' if light else 'dark'}.json").write_text(json.dumps(axe, indent=1))
        violations, lowest = contrast_report(axe)
        other = sorted({v["id"] for v in axe["violations"] if v["id"] != "color-contrast"})
        figures[theme] = {"contrast_violations": len(violations), "selected_row_min_ratio": lowest, "other_rules_failing": other,
                          "contrast_nodes_checked": sum(len(r["nodes"]) for r in axe["passes"] if r["id"] == "color-contrast")}
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        sidebar.screenshot(path=str(SCREENSHOTS / shot))
        assert violations == [], f"{theme}: colour-contrast violations:\n" + "\n".join(violations)
        assert other == [], f"{theme}: other WCAG A/AA rules fail: {other}"
        assert set(lowest) == {"model", "hook", "job"} and min(lowest.values()) >= 4.5, lowest
    print("AXE " + json.dumps(figures))
    set_theme(page, "JupyterLab Light", True)

    # Open in tab: the same grid in the main area, at full size.
    in_sidebar = grid.locator(".lenslab-heatmap-canvas").first.bounding_box()["width"]
    result.locator(".lenslab-sb-open-tab").click()
    tab = page.locator("#lenslab-result-1")
    expect(tab).to_be_visible(timeout=30_000)
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="LensLab job 1")).to_be_visible()
    full = tab.locator(".lenslab-patching")
    expect(full).to_be_visible(timeout=30_000)
    tab_box = tab.bounding_box()
    heads = full.locator(".lenslab-col-label")
    assert heads.count() == labels.count()
    for i in range(heads.count()):
        assert inside(heads.nth(i).bounding_box(), tab_box)
    assert inside(full.locator(".lenslab-colorbar").bounding_box(), tab_box)
    assert full.locator(".lenslab-heatmap-canvas").first.bounding_box()["width"] > 1.5 * in_sidebar
    page.screenshot(path=str(artifacts / "sidebar-result-tab.png"))
    result.locator(".lenslab-sb-open-tab").click()  # again: the same tab, not a second one
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="LensLab job 1")).to_have_count(1)
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="a11y.ipynb").click()

    # Insert as code: job 1's own names, the notebook's kept, the same numbers.
    cell(page, 0).locator(".jp-InputArea-prompt").click()
    result.locator(".lenslab-sb-insert-code").click()
    inserted = cell(page, 1)
    expect(inserted).to_contain_text("results_1 = patching.get_act_patch_attn_head_out_all_pos(")
    source = inserted.locator(".jp-InputArea-editor").inner_text()
    assert "# Defines clean_tokens_1," in source and "metric_1" in source and "\nmetric =" not in source
    run_cell(page, 1)
    expect(inserted.locator(".lenslab-widget.lenslab-patching")).to_be_visible(timeout=120_000)
    run_cell(page, 2)
    assert output_line(page, 2, "KEPT ") == "True"
    assert json.loads(output_line(page, 2, "VALUES ")) == json.loads(result.get_attribute("data-values"))
    assert n_heads == 8
    assert page.errors == []  # type: ignore[attr-defined]
