"""The sweep registry drives the patching functions, the grid, the sidebar and the protocol.

Every check loops over ``SWEEPS``, so a new entry is tested by these tests as soon as it exists.
"""

from __future__ import annotations

import copy
import json
import pickle
import typing
from pathlib import Path

import pytest
import torch

from transformer_lens import HookedTransformer, HookedTransformerConfig, patching
from transformer_lens.sweeps import SWEEPS, PatchingResult, axis_ranges, engine_runs, sidebar_sweeps, spec_for

N_LAYERS, N_HEADS, N_KV_HEADS, POS = 2, 4, 2, 4
SCHEMA = Path(__file__).resolve().parents[2] / "labext" / "test" / "fixtures" / "protocol.schema.json"


@pytest.fixture(scope="module")
def gqa():
    """Grouped-query attention (K/V have fewer heads than Q) with MLPs: every sweep applies."""
    torch.set_num_threads(1)
    cfg = HookedTransformerConfig(
        n_layers=N_LAYERS, n_heads=N_HEADS, n_key_value_heads=N_KV_HEADS, d_model=16, d_head=4, d_mlp=32,
        d_vocab=40, n_ctx=8, act_fn="gelu", normalization_type="LN", seed=3, initializer_range=0.3,
    )
    model = HookedTransformer(cfg).eval()
    generator = torch.Generator().manual_seed(3)
    clean = torch.randint(0, 40, (2, POS), generator=generator)
    corrupted = torch.randint(0, 40, (2, POS), generator=generator)
    with torch.no_grad():
        _, cache = model.run_with_cache(clean)
    return model, corrupted, cache


def metric(logits: torch.Tensor) -> torch.Tensor:
    return (logits[:, -1, 3] - logits[:, -1, 7]).mean()


def _expected_shape(spec, cfg) -> tuple[int, ...]:
    sizes = {"layer": cfg.n_layers, "pos": POS, "dest_pos": POS, "src_pos": POS, "component": len(spec.components)}
    ranges = axis_ranges(cfg, spec.activation, POS) if not spec.is_combined else {"head": cfg.n_heads}
    return tuple(sizes[a.name] if a.name in sizes else ranges[a.name] for a in spec.axes)


@pytest.mark.parametrize("name", list(SWEEPS))
def test_each_function_returns_its_specs_axes_and_the_engines_run_count(gqa, name, monkeypatch):
    model, corrupted, cache = gqa
    spec = SWEEPS[name]
    function = getattr(patching, spec.function)
    assert function.__name__ == spec.function and spec.function in patching.__all__
    # Count the patched runs the engine really makes: the sequential path is one run_with_hooks each.
    calls = []
    real = model.run_with_hooks
    monkeypatch.setattr(model, "run_with_hooks", lambda *a, **k: calls.append(1) or real(*a, **k))
    with torch.no_grad():
        result = function(model, corrupted, cache, metric, sequential=True, progress=False)
    assert len(calls) == engine_runs(spec, model.cfg, POS)
    assert isinstance(result, PatchingResult) and result.sweep is spec
    assert tuple(result.shape) == _expected_shape(spec, model.cfg)
    assert result.patching_kind == spec.function


def test_every_upstream_sweep_function_is_a_registry_entry():
    names = {name for name in patching.__all__ if name.startswith("get_act_patch_")}
    assert names == {spec.function for spec in SWEEPS.values()}
    assert all(spec_for(spec.function) is spec_for(spec.name) is spec for spec in SWEEPS.values())


@pytest.mark.parametrize("name", list(SWEEPS))
def test_grid_labels_count_equals_the_axes(gqa, name):
    from lenslab.widgets.patching_grid import GRID_KINDS, PatchingGrid, resolve_kind

    model, _, _ = gqa
    spec = SWEEPS[name]
    shape = _expected_shape(spec, model.cfg)
    result = PatchingResult.wrap(torch.randn(shape), spec)
    for kind in (spec.name, spec.function):
        assert resolve_kind(kind) == spec.layout.name
    grid = PatchingGrid(result, kind=spec.name, model=model, tokens=[f"t{i}" for i in range(POS)])
    layout = GRID_KINDS[grid.kind]
    assert layout.dims == spec.roles
    sizes = lambda axes: int(torch.tensor([shape[a] for a in axes]).prod())  # noqa: E731
    assert len(grid.panel_titles) == sizes(layout.panels)
    assert len(grid.row_labels) == sizes(layout.rows)
    assert len(grid.col_labels) == sizes(layout.cols)


def test_old_grid_aliases_still_resolve():
    from lenslab.widgets.patching_grid import resolve_kind

    assert resolve_kind("head_all_pos") == "layer_head"
    assert resolve_kind("layer_pos") == "layer_pos"
    assert resolve_kind(patching.get_act_patch_attn_head_by_pos_every) == "head_by_pos_every"


def test_sidebar_kinds_and_protocol_kinds_are_the_registrys():
    from lenslab.comm import protocol
    from lenslab.comm.recipes import PATCH_KINDS

    names = [spec.name for spec in sidebar_sweeps()]
    assert list(PATCH_KINDS) == names
    assert list(typing.get_args(protocol.PatchKind)) == names
    assert all(PATCH_KINDS[s.name].function == s.function and PATCH_KINDS[s.name].hooks == s.hooks() for s in sidebar_sweeps())
    # The exported schema (which the TypeScript side is checked against) carries the same list.
    assert names in _enums(json.loads(SCHEMA.read_text()))


def _enums(node):
    if isinstance(node, dict):
        if "enum" in node:
            yield node["enum"]
        for value in node.values():
            yield from _enums(value)
    elif isinstance(node, list):
        for value in node:
            yield from _enums(value)


def test_sidebar_run_counts_are_the_engines(gqa):
    from lenslab.comm.recipes import PATCH_KINDS

    model, corrupted, cache = gqa
    for name, kind in PATCH_KINDS.items():
        totals = []
        getattr(patching, kind.function)(model, corrupted, cache, metric, progress=lambda done, total: totals.append(total))
        assert totals and set(totals) == {kind.runs(model.cfg, POS)}, name


def test_result_keeps_its_spec_when_moved_or_copied_and_is_plain_otherwise():
    spec = SWEEPS["heads_by_pos"]
    base = torch.randn(2, 3, 4)
    result = PatchingResult.wrap(base.clone(), spec)
    for moved in (result.cpu(), result.clone(), result.detach(), result.to(torch.float32), result.contiguous(),
                  copy.deepcopy(result), pickle.loads(pickle.dumps(result))):
        assert isinstance(moved, PatchingResult) and moved.sweep is spec and torch.equal(moved, base)
    for derived in (result[0], result + 1, result * 2, result == base, result.sum(0), result.max(dim=0).values, result.transpose(0, 1), torch.stack([result, result])):
        assert type(derived) is torch.Tensor
    assert torch.allclose(result, base) and result.shape == base.shape and (result - base).abs().max().item() == 0
    assert repr(result) == repr(base) and result.tolist() == base.tolist()
    assert type(result.to(torch.float64)) is PatchingResult and result.to(torch.float64).dtype == torch.float64


def test_index_df_results_are_flat_plain_tensors(gqa):
    model, corrupted, cache = gqa
    frame = patching.make_df_from_ranges([N_LAYERS, POS], ["layer", "pos"])
    flat = patching.get_act_patch_resid_pre(model, corrupted, cache, metric, index_df=frame, progress=False)
    assert type(flat) is torch.Tensor and flat.shape == (N_LAYERS * POS,)
