"""The user guide's circuitsvis tip in a real JupyterLab with no network: the visualization renders.

circuitsvis renders offline only by inlining its JavaScript (``_repr_html_`` after its online probe
fails); ``str()``/``show_code()`` would load it from a CDN. The page may load nothing from outside
127.0.0.1: every other request is refused and recorded, and none may be made.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from lab_notebook import open_and_run_all

pytestmark = pytest.mark.e2e

PROMPT = "Attention patterns show focus."
SETUP = f'''
import os
# This machine has no network. circuitsvis probes it on every render: send that probe to a closed
# local port (before anything builds urllib's opener), so it fails at once and nothing leaves.
os.environ["http_proxy"] = "http://127.0.0.1:9"
os.environ.pop("no_proxy", None)
import lenslab
from transformer_lens import HookedTransformer
model = HookedTransformer.from_pretrained("lenslab/attn-only-2l")
input_ids = model.to_tokens({PROMPT!r})
logits, cache = model.run_with_cache(input_ids)
'''
# The guide's tip ("Get and Visualize Attention Patterns"), as the guide writes it.
TIP = '''# Example (assuming circuitsvis is installed and cache obtained)
import circuitsvis as cv 
layer = 0
attn_pattern_l0 = cache[f"blocks.{layer}.attn.hook_pattern"]
str_tokens = model.to_str_tokens(input_ids[0]) 
# Display in Jupyter/compatible environment
cv.attention.attention_patterns(tokens=str_tokens, attention=attn_pattern_l0[0]).show() 
'''
CELLS = [SETUP, TIP, 'import json\nprint("RESULT=" + json.dumps({"tokens": str_tokens, "n_heads": model.cfg.n_heads}))']


@pytest.fixture(scope="module")
def page(lab, browser, artifacts: Path):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    outside: list[str] = []

    def local_only(route) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", local_only)
    page = open_and_run_all(context, lab.url, lab.root, "circuitsvis.ipynb", CELLS)
    page.outside = outside  # type: ignore[attr-defined]
    try:
        wait_for_render(page)
    except AssertionError:
        page.screenshot(path=str(artifacts / "FAILED-circuitsvis.png"), full_page=True)
        raise
    yield page
    context.close()


def wait_for_render(page, timeout_s: float = 240) -> None:
    """Until the last cell printed and circuitsvis drew into its element; fails at once on a traceback."""
    deadline = time.monotonic() + timeout_s
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    done = result_output(page)
    drawn = page.locator("[id^='circuits-vis-'] *")
    while time.monotonic() < deadline:
        if errors.count():
            raise AssertionError(f"a cell failed:\n{errors.first.inner_text()}")
        if done.count() and drawn.count():
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"circuitsvis did not render in {timeout_s} s")


def result_output(page):
    return page.locator(".jp-OutputArea-output", has_text=re.compile("RESULT="))  # a regex: case-sensitive


def test_guide_tip_renders_the_attention_pattern_offline(page, artifacts):
    vis = page.locator("[id^='circuits-vis-']").first
    vis.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    vis.screenshot(path=str(artifacts / "circuitsvis-attention.png"))
    box = vis.bounding_box()
    assert box is not None and box["height"] > 100 and box["width"] > 200  # drawn, not an empty element
    result = json.loads(result_output(page).first.inner_text().split("RESULT=", 1)[1])
    text = vis.inner_text()
    for token in result["tokens"]:  # the prompt's tokens label the view
        assert token.strip() in text, (token, text[:500])
    for head in range(result["n_heads"]):  # one thumbnail per head of layer 0
        assert f"Head {head}" in text
    assert f"Head {result['n_heads']}" not in text
    # Every request outside 127.0.0.1 is refused, so a drawing means the JavaScript came inline; and
    # none was even attempted (no CDN import left in the output).
    assert page.outside == [], page.outside  # type: ignore[attr-defined]
    assert page.errors == []  # type: ignore[attr-defined]
