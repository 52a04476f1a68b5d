"""PatchingGrid: every patching output's layout, labels, validation and the clicked-cell traitlet."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lenslab import PatchingGrid
from lenslab.widgets.patching_grid import GRID_KINDS, KIND_ALIASES, infer_kind, resolve_kind

L, H, P = 2, 3, 4
TOKENS = ["The", " cat", " sat", " down"]


def results(*shape: int) -> torch.Tensor:
    return torch.arange(int(np.prod(shape)), dtype=torch.float32).reshape(shape) - 5


def check_every_cell(grid: PatchingGrid, source: torch.Tensor) -> None:
    """Each grid cell holds the value at the source index it reports (the layout is right)."""
    values = grid.tensor()
    n_panels, n_rows, n_cols = grid.shape
    for p in range(n_panels):
        for r in range(n_rows):
            for c in range(n_cols):
                info = grid.cell_info(p, r, c)
                assert values[p, r, c] == source[tuple(info["index"])] == info["value"]


CASES = [
    ("get_act_patch_resid_pre", (L, P), 1, ["L0", "L1"], TOKENS, "layer", "position", [""]),
    ("get_act_patch_attn_head_out_all_pos", (L, H), 1, ["L0", "L1"], ["H0", "H1", "H2"], "layer", "head", [""]),
    ("get_act_patch_attn_head_v_by_pos", (L, P, H), 1, ["L0H0", "L0H1", "L0H2", "L1H0", "L1H1", "L1H2"], TOKENS, "layer\u00b7head", "position", [""]),
    ("get_act_patch_attn_head_pattern_by_pos", (L, H, P), 1, ["L0H0", "L0H1", "L0H2", "L1H0", "L1H1", "L1H2"], TOKENS, "layer\u00b7head", "position", [""]),
    ("get_act_patch_block_every", (3, L, P), 3, ["L0", "L1"], TOKENS, "layer", "position", ["resid_pre", "attn_out", "mlp_out"]),
    ("get_act_patch_attn_head_all_pos_every", (5, L, H), 5, ["L0", "L1"], ["H0", "H1", "H2"], "layer", "head", ["output", "query", "key", "value", "pattern"]),
    ("get_act_patch_attn_head_by_pos_every", (5, L, P, H), 5, ["L0H0", "L0H1", "L0H2", "L1H0", "L1H1", "L1H2"], TOKENS, "layer\u00b7head", "position", ["output", "query", "key", "value", "pattern"]),
    ("get_act_patch_attn_head_pattern_dest_src_pos", (L, H, P, P), L * H, TOKENS, TOKENS, "dest", "src", ["L0H0", "L0H1", "L0H2", "L1H0", "L1H1", "L1H2"]),
]


@pytest.mark.parametrize(("function", "shape", "panels", "rows", "cols", "row_axis", "col_axis", "titles"), CASES)
def test_every_patching_output_gets_labelled_panels(function, shape, panels, rows, cols, row_axis, col_axis, titles):
    source = results(*shape)
    grid = PatchingGrid(source, kind=function, tokens=TOKENS)
    assert grid.shape[0] == panels
    assert grid.panel_titles == titles
    assert grid.row_labels == rows and grid.col_labels == cols
    assert grid.row_axis == row_axis and grid.col_axis == col_axis
    assert grid.kind == KIND_ALIASES[function]
    assert grid.dtype == "float32" and isinstance(grid.data, bytes)
    check_every_cell(grid, source)


def test_the_kind_is_inferred_from_the_shape_and_model(tiny_model):
    cfg = tiny_model.cfg  # 2 layers, 4 heads
    assert PatchingGrid(torch.zeros(5, 2, 4), model=tiny_model).kind == "head_all_pos_every"
    assert PatchingGrid(torch.zeros(3, 2, 6), model=tiny_model).kind == "block_every"
    assert PatchingGrid(torch.zeros(2, 6, 4), model=tiny_model).kind == "head_by_pos"
    assert PatchingGrid(torch.zeros(2, 4, 6), model=tiny_model).kind == "layer_head_pos"
    assert PatchingGrid(torch.zeros(5, 2, 6, 4), model=tiny_model).kind == "head_by_pos_every"
    assert PatchingGrid(torch.zeros(2, 4, 6, 6), model=tiny_model).kind == "pattern_dest_src"
    assert infer_kind((2, 4), n_layers=2, n_heads=cfg.n_heads) == "layer_head"
    assert infer_kind((2, 6), n_layers=2, n_heads=4, n_pos=6) == "layer_pos"
    assert infer_kind((2, 7)) == "layer_pos"
    with pytest.raises(ValueError, match="rank 2, 3 or 4"):
        infer_kind((7,))
    with pytest.raises(ValueError, match="cannot tell which patching output has shape \\[2, 9\\] .* pass kind="):
        infer_kind((2, 9), n_layers=2, n_heads=4, n_pos=6)


def test_kind_accepts_the_patching_function_itself():
    from transformer_lens import patching

    assert resolve_kind(patching.get_act_patch_attn_head_all_pos_every) == "head_all_pos_every"
    assert resolve_kind("resid_pre") == "layer_pos"
    for name in patching.__all__:
        if name.startswith("get_act_patch_"):
            assert name in KIND_ALIASES, f"{name} has no grid kind"
    with pytest.raises(ValueError, match="unknown patching kind 'head_all_pos_evry'; did you mean head_all_pos_every"):
        resolve_kind("head_all_pos_evry")


def test_tokens_from_ids_with_a_model_and_mismatch_errors(gpt2_model):
    tokens = gpt2_model.to_tokens("The cat sat")
    grid = PatchingGrid(torch.zeros(2, tokens.shape[1]), kind="resid_pre", tokens=tokens, model=gpt2_model)
    assert grid.col_labels == gpt2_model.to_str_tokens(tokens)
    with pytest.raises(ValueError, match="tokens has 3 entries but the results' pos axis has 4"):
        PatchingGrid(torch.zeros(2, 4), kind="resid_pre", tokens=["a", "b", "c"])


def test_explicit_labels_override_and_are_checked():
    grid = PatchingGrid(torch.zeros(2, 3), kind="layer_head", labels={"rows": ["early", "late"], "cols": ["x", "y", "z"]})
    assert grid.row_labels == ["early", "late"] and grid.col_labels == ["x", "y", "z"]
    with pytest.raises(ValueError, match="labels\\['rows'\\] has 1 entries but the grid has 2 rows"):
        PatchingGrid(torch.zeros(2, 3), kind="layer_head", labels={"rows": ["a"]})
    with pytest.raises(ValueError, match="accepts the keys"):
        PatchingGrid(torch.zeros(2, 3), kind="layer_head", labels={"heads": ["a"]})


@pytest.mark.parametrize(
    ("source", "kwargs", "message"),
    [
        (torch.zeros(4, 2, 3), {"kind": "head_all_pos_every"}, "expects 5 components \\['output', 'query', 'key', 'value', 'pattern'\\] on axis 0; got shape \\[4, 2, 3\\]"),
        (torch.zeros(2, 3), {"kind": "head_by_pos"}, "kind 'head_by_pos' expects 3 dims"),
        (torch.tensor([[0.0, float("inf")]]), {}, "results has 1 NaN/inf value\\(s\\), the first at index \\(0, 1\\) \\(inf\\)"),
        (torch.zeros(2, 3), {"vmax": -1}, "vmax must be a finite number >= 0 \\(0 means the largest \\|value\\|\\), got -1.0"),
        (torch.zeros(2, 3), {"vmax": float("nan")}, "vmax must be a finite number >= 0 .*got nan"),
        (torch.zeros(2, 3), {"vmax": float("inf")}, "vmax must be a finite number >= 0 .*got inf"),
        (torch.zeros(2, 3), {"vmax": None}, "vmax must be a finite number >= 0 .*got NoneType"),
        (np.array([["a"]]), {}, "results must hold real numbers"),
    ],
)
def test_bad_results_raise_one_clear_line(source, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message) as info:
        PatchingGrid(source, **kwargs)
    assert "\n" not in str(info.value)


def test_nan_cells_allowed_on_request():
    grid = PatchingGrid(torch.tensor([[0.5, float("nan")]]), allow_nan=True)
    assert np.isnan(grid.tensor()[0, 0, 1])


def test_a_click_from_the_front_end_fills_the_selected_traitlet():
    source = results(5, L, P, H)
    grid = PatchingGrid(source, kind="get_act_patch_attn_head_by_pos_every", tokens=TOKENS)
    seen = []
    grid.observe(lambda change: seen.append(change["new"]), "selected")
    grid.set_state({"selected": {"panel": 2, "row": 4, "col": 3}})  # the comm message a click sends
    expected = {
        "panel": 2, "row": 4, "col": 3,
        "panel_label": "key", "row_label": "L1H1", "col_label": " down",
        "value": float(source[2, 1, 3, 1]), "index": [2, 1, 3, 1],
        "component": "key", "layer": 1, "pos": 3, "head": 1,
    }
    assert grid.selected == expected
    assert seen == [expected]
    grid.select(0, 0, 0)
    assert grid.selected["value"] == float(source[0, 0, 0, 0])


def test_bad_selections_are_rejected():
    grid = PatchingGrid(torch.zeros(2, 3))
    import traitlets

    with pytest.raises(traitlets.TraitError, match="row=5 is out of range"):
        grid.select(0, 5, 0)
    with pytest.raises(traitlets.TraitError, match="integer panel, row and col"):
        grid.selected = {"panel": 0}
    grid.selected = None
    assert grid.selected is None


def test_every_kind_is_described():
    for name, kind in GRID_KINDS.items():
        assert sorted(kind.panels + kind.rows + kind.cols) == list(range(len(kind.dims))), name
        assert kind.description


def test_a_big_grid_of_tiny_values_arrives_intact():
    # 1M+ cells go as float16 when it holds them; 1e-8 values would arrive as 0, so float32.
    values = torch.randn(1024, 1024, generator=torch.Generator().manual_seed(0)) * 1e-8
    grid = PatchingGrid(values, kind="layer_pos")
    assert grid.dtype == "float32"
    np.testing.assert_array_equal(grid.tensor()[0], values.numpy())
    assert grid.cell_info(0, 3, 5)["value"] == pytest.approx(float(values[3, 5]), rel=1e-6)
    assert PatchingGrid(values * 1e8, kind="layer_pos").dtype == "float16"  # the same grid at scale 1


def test_a_plain_tensor_has_neutral_axes_in_its_own_order():
    values = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    grid = PatchingGrid(values, kind="tensor")
    # Leading axes become panels (named, since bare indices would run together), then rows, cols.
    assert grid.shape == [6, 4, 5] and (grid.row_axis, grid.col_axis) == ("dim2", "dim3")
    assert grid.panel_titles[:4] == ["dim0 0, dim1 0", "dim0 0, dim1 1", "dim0 0, dim1 2", "dim0 1, dim1 0"]
    assert not any(label.startswith(("L", "H")) for label in grid.row_labels + grid.col_labels)
    # The oracle: every cell maps back to the same value of the source tensor.
    for panel, row, col in [(0, 0, 0), (4, 2, 3), (5, 3, 4)]:
        info = grid.cell_info(panel, row, col)
        assert info["value"] == values[tuple(info["index"])].item()
        assert (info["dim0"], info["dim1"], info["dim2"], info["dim3"]) == tuple(info["index"])
    np.testing.assert_array_equal(grid.tensor(), values.numpy().reshape(6, 4, 5))
    line = PatchingGrid(torch.ones(7), dims=("vocab",))
    assert line.shape == [1, 1, 7] and line.col_axis == "vocab" and line.kind == "tensor"


def test_a_plain_tensor_labels_its_position_axis_with_the_tokens():
    grid = PatchingGrid(torch.zeros(2, 3), kind="tensor", tokens=["x", "y", "z"])
    assert grid.col_axis == "position" and grid.col_labels == ["x", "y", "z"] and grid.row_labels == ["0", "1"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dims": ("a",)}, "dims names 1 axes \\['a'\\] but the tensor has shape \\[2, 3\\]"),
        ({"dims": ("a", "a")}, "dims must name each axis once"),
        ({"dims": ("layer", "pos"), "kind": "layer_pos"}, "dims= names the axes of a plain tensor"),
        ({"dims": ("batch", "pos"), "tokens": ["a", "b"]}, "tokens has 2 entries but the results' pos axis has 3"),
    ],
)
def test_bad_plain_tensor_axes_raise_one_clear_line(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        PatchingGrid(torch.zeros(2, 3), **kwargs)
    with pytest.raises(ValueError, match="0-d tensor"):
        PatchingGrid(torch.tensor(1.0), kind="tensor")
