"""SideBySide and ``lenslab.show(a, b, same_scale=True)``: grids compared on one colour scale."""

from __future__ import annotations

import pytest
import torch

import lenslab
from lenslab import AttentionPatterns, PatchingGrid, SideBySide
from lenslab.widgets.side_by_side import shared_vmax


def test_show_of_two_grids_shares_one_symmetric_scale(capsys):
    exact = torch.tensor([[12.0, -3.0], [0.5, 1.0]])
    approx = torch.tensor([[9.0, -1.0], [0.0, -2.0]])
    # On their own, each grid spans its own largest |value| (vmax 0 = automatic): ±12 and ±9.
    lenslab.show(exact, approx, kind="layer_head", same_scale=True, titles=["exact", "attribution"])
    out = capsys.readouterr().out
    assert out.startswith("SideBySide(") and "title='exact'" in out and "vmax=12" in out
    pair = SideBySide(PatchingGrid(exact, kind="layer_head"), PatchingGrid(approx, kind="layer_head"))
    assert pair.same_scale and [g.vmax for g in pair.grids] == [12.0, 12.0]


def test_the_shared_scale_is_the_largest_magnitude_of_either_sign_and_stays_linked():
    a = PatchingGrid(torch.tensor([[1.0, -7.5]]), kind="layer_pos")
    b = PatchingGrid(torch.tensor([[3.0, float("nan")]]), kind="layer_pos", allow_nan=True)
    assert shared_vmax([a, b]) == 7.5  # a negative extreme counts, NaN does not
    pair = SideBySide(a, b)
    a.vmax = 2.0  # a change on one grid rescales the other
    assert (pair.vmax, b.vmax) == (2.0, 2.0)
    pair.vmax = 4.0
    assert (a.vmax, b.vmax) == (4.0, 4.0)
    assert SideBySide(PatchingGrid(torch.zeros(1, 2), kind="layer_pos"), PatchingGrid(torch.ones(1, 2), kind="layer_pos"), vmax=3).vmax == 3.0


def test_same_scale_false_keeps_each_grid_on_its_own_scale():
    a = PatchingGrid(torch.tensor([[1.0]]), kind="layer_pos")
    b = PatchingGrid(torch.tensor([[5.0]]), kind="layer_pos")
    pair = SideBySide(a, b, same_scale=False)
    assert (a.vmax, b.vmax) == (0.0, 0.0) and not pair.same_scale


def test_bad_side_by_side_input_raises_one_clear_line():
    grid = PatchingGrid(torch.ones(1, 2), kind="layer_pos")
    attn = AttentionPatterns(["a", "b"], torch.tensor([[[1.0, 0.0], [0.5, 0.5]]]))
    with pytest.raises(TypeError, match="shows two or more widgets"):
        SideBySide(grid)
    with pytest.raises(TypeError, match="takes LensLab widgets"):
        SideBySide(grid, torch.ones(2))
    with pytest.raises(TypeError, match="AttentionPatterns has no diverging scale to share"):
        SideBySide(grid, attn, same_scale=True)
    assert not SideBySide(grid, attn).same_scale  # mixed widgets: nothing shared by default
    with pytest.raises(TypeError, match="same_scale= compares two or more objects"):
        lenslab.show(torch.ones(2, 2), same_scale=True)
    with pytest.raises(ValueError, match="titles has 1 entries for 2 objects"):
        lenslab.show(torch.ones(2, 2), torch.ones(2, 2), titles=["x"])


def test_the_static_copy_holds_each_widgets_static_copy_in_one_row(monkeypatch):
    a = PatchingGrid(torch.tensor([[1.0]]), kind="layer_pos", title="a")
    b = PatchingGrid(torch.tensor([[-2.0]]), kind="layer_pos", title="b")
    pair = SideBySide(a, b)
    assert "application/vnd.jupyter.widget-view+json" in pair._repr_mimebundle_()
    # Each widget's own static copy (lenslab.widgets._static, where present) stands in here as a stub.
    monkeypatch.setattr(PatchingGrid, "static_html", lambda self: f"<svg data-title='{self.title}' data-vmax='{self.vmax}'/>", raising=False)
    bundle = pair._repr_mimebundle_()
    html = bundle["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in bundle and html.startswith('<div class="lenslab-side-by-side"')
    assert html.index("data-title='a'") < html.index("data-title='b'")
    assert html.count("data-vmax='2.0'") == 2  # both drawn on the shared scale
    monkeypatch.setattr(PatchingGrid, "static_html", lambda self: 1 / 0)
    assert "text/html" not in pair._repr_mimebundle_()  # a broken static copy leaves the live widgets alone
