"""Widgets in a real kernel (nbclient, no browser): binary buffers arrive intact, rich display works."""

from __future__ import annotations

import base64

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

SETUP = """
import numpy as np, torch
import lenslab
from transformer_lens import HookedTransformer, HookedTransformerConfig
pattern = np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4) / 100
results = (np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3) - 7) / 3
torch.manual_seed(0)
model = HookedTransformer(HookedTransformerConfig(n_layers=1, d_model=16, n_ctx=8, d_head=4, n_heads=4, d_vocab=20, act_fn="gelu", d_mlp=32))
_, cache = model.run_with_cache(torch.arange(5)[None])
"""


def run(cells: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    NotebookClient(nb, kernel_name="python3", timeout=120, store_widget_state=True).execute()
    return nb


def widget_states(nb: nbformat.NotebookNode) -> dict[str, dict]:
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    return {k: v for k, v in state.items() if v["model_name"] == "AnyModel"}


def decode_buffer(entry: dict) -> np.ndarray:
    (buf,) = [b for b in entry["buffers"] if b["path"] == ["data"]]
    raw = base64.b64decode(buf["data"])
    s = entry["state"]
    return np.frombuffer(raw, dtype={"float32": "<f4", "float16": "<f2"}[s["dtype"]]).reshape(s["shape"])


def test_payloads_reach_the_front_end_as_exact_binary_buffers():
    nb = run([
        SETUP,
        "lenslab.AttentionPatterns(['a', 'b', 'c', 'd'], pattern, layer=3)",
        "lenslab.PatchingGrid(results, kind='get_act_patch_attn_head_all_pos_every')",
        "cache",  # rich display: the cache explorer
        "lenslab.unregister_formatters()\ncache",
    ])
    states = widget_states(nb)
    by_class = {v["state"]["_anywidget_id"].rsplit(".", 1)[1]: v for v in states.values()}
    assert set(by_class) == {"AttentionPatterns", "PatchingGrid", "CacheExplorer"}

    attention = by_class["AttentionPatterns"]
    expected = np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4) / 100
    np.testing.assert_array_equal(decode_buffer(attention), expected)
    assert attention["state"]["head_names"] == ["L3H0", "L3H1"]
    assert "data" not in attention["state"] or attention["state"]["data"] is None  # bytes only in buffers
    assert "export default" in attention["state"]["_esm"] or "render" in attention["state"]["_esm"]

    grid = by_class["PatchingGrid"]
    source = (np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3) - 7) / 3
    np.testing.assert_array_equal(decode_buffer(grid), source)
    assert grid["state"]["panel_titles"] == ["output", "query", "key", "value", "pattern"]

    explorer = by_class["CacheExplorer"]
    assert explorer["state"]["view"] == "pattern" and explorer["state"]["shape"] == [4, 5, 5]

    cache_output, plain_output = nb.cells[3].outputs[0], nb.cells[4].outputs[0]
    assert "application/vnd.jupyter.widget-view+json" in cache_output["data"]
    assert cache_output["data"]["text/plain"].startswith("ActivationCache")
    assert set(plain_output["data"]) == {"text/plain"}
