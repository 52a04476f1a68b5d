"""``import lenslab`` gives circuitsvis's RenderedHTML the show() the user guide calls, and nothing else."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from lenslab import _circuitsvis_show

REPO = Path(__file__).resolve().parents[2]


def fake_render_module(**attrs) -> types.ModuleType:
    module = types.ModuleType("render")
    module.RenderedHTML = type("RenderedHTML", (), attrs)
    return module


def test_show_displays_the_visualization_itself(monkeypatch):
    import IPython.display

    render = fake_render_module()
    assert _circuitsvis_show.add_show(render) is True
    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    html = render.RenderedHTML()
    assert html.show() is None
    assert shown == [html]


def test_a_show_of_circuitsviss_own_is_kept():
    def own(self):
        return "circuitsvis's"

    render = fake_render_module(show=own)
    assert _circuitsvis_show.add_show(render) is False
    assert render.RenderedHTML.show is own


@pytest.mark.slow
@pytest.mark.parametrize("order", ["lenslab first", "circuitsvis first"])
def test_real_circuitsvis_gets_show_whichever_is_imported_first(order):
    pytest.importorskip("circuitsvis")
    imports = "import lenslab; import circuitsvis" if order == "lenslab first" else "import circuitsvis; import lenslab"
    code = f"{imports}\nfrom circuitsvis.utils.render import RenderedHTML\nprint(RenderedHTML.show.__module__)"
    env = {"PYTHONPATH": str(REPO / "py_src"), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "lenslab._circuitsvis_show"
