"""lenslab.show / to_widget dispatch, the rich display registration, and a fast import."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from IPython.core.formatters import DisplayFormatter

import lenslab
from lenslab import AttentionPatterns, CacheExplorer, PatchingGrid
from transformer_lens.sweeps import SWEEPS, PatchingResult

from lenslab.display import CACHE_TYPE, PATCHING_KIND_ATTR, RESULT_TYPE, looks_like_attention

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


class FakeKernelShell:
    """Just what register_formatters uses of a kernel's IPython shell."""

    def __init__(self) -> None:
        self.display_formatter = DisplayFormatter()
        self.kernel = object()


def test_import_is_fast_and_loads_no_heavy_module():
    code = (
        "import sys, time; t = time.perf_counter(); import lenslab; dt = time.perf_counter() - t; "
        "heavy = [m for m in ('torch', 'numpy', 'anywidget', 'ipywidgets', 'transformer_lens') if m in sys.modules]; "
        "print(dt, heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split(maxsplit=1)
    assert out[1].strip() == "[]"
    assert float(out[0]) < 0.5


def test_to_widget_dispatches_on_the_object(tiny_run):
    _, cache = tiny_run
    assert isinstance(lenslab.to_widget(cache), CacheExplorer)
    pattern = cache["blocks.0.attn.hook_pattern"][0]
    assert looks_like_attention(pattern)
    w = lenslab.to_widget(pattern, tokens=[str(i) for i in range(6)])
    assert isinstance(w, AttentionPatterns) and w.tokens[5] == "5"
    grid = lenslab.to_widget(torch.randn(5, 2, 4))
    assert isinstance(grid, PatchingGrid) and grid.kind == "tensor"
    assert lenslab.to_widget(torch.randn(5, 2, 4), kind="head_all_pos_every").kind == "head_all_pos_every"
    assert isinstance(lenslab.to_widget(pattern, kind="attention"), AttentionPatterns)
    assert lenslab.to_widget(grid) is grid
    with pytest.raises(TypeError, match="already a widget"):
        lenslab.to_widget(grid, title="x")
    with pytest.raises(TypeError, match="cannot display a str"):
        lenslab.to_widget("hello")


def test_patching_results_tagged_with_their_function_get_the_right_layout():
    result = torch.randn(2, 6)
    setattr(result, PATCHING_KIND_ATTR, "get_act_patch_attn_head_out_all_pos")
    assert lenslab.to_widget(result).kind == "layer_head"


def test_show_displays_the_widget(capsys):
    lenslab.show(torch.randn(2, 3))  # no kernel here: IPython's display prints the text form
    assert "PatchingGrid(shape=[1, 2, 3]" in capsys.readouterr().out


def test_a_plain_tensor_is_not_titled_or_labelled_as_a_patching_result():
    plain = lenslab.to_widget(torch.randn(6, 5))
    assert plain.title == "Tensor [6, 5] (not a patching result)"
    # Neutral axes: indices under dim0/dim1, not layers L0-L5 and positions.
    assert (plain.row_axis, plain.col_axis) == ("dim0", "dim1")
    assert plain.row_labels == [str(i) for i in range(6)] and plain.col_labels == [str(i) for i in range(5)]
    logits = lenslab.to_widget(torch.randn(1, 3, 11), tokens=["a", "b", "c"], dims=("batch", "pos", "vocab"))
    assert logits.panel_titles == ["batch 0"] and logits.row_labels == ["a", "b", "c"] and logits.col_axis == "vocab"
    result = lenslab.to_widget(PatchingResult.wrap(torch.randn(6, 5), SWEEPS["attn_out"]))
    assert result.title == "Activation patching: by layer and position" and result.kind == "layer_pos"


def test_the_formatter_is_registered_by_name_for_the_core_class():
    from transformer_lens import ActivationCache

    assert (ActivationCache.__module__, ActivationCache.__name__) == CACHE_TYPE
    assert (PatchingResult.__module__, PatchingResult.__name__) == RESULT_TYPE


def test_rich_display_in_a_kernel_and_plain_text_after_unregistering(tiny_run):
    _, cache = tiny_run
    shell = FakeKernelShell()
    assert lenslab.register_formatters(shell) is True
    assert lenslab.register_formatters(shell) is True  # idempotent

    data, _ = shell.display_formatter.format(cache)
    assert WIDGET_MIME in data and data["text/plain"] == repr(cache)

    plain = torch.randn(2, 3)
    data, _ = shell.display_formatter.format(plain)
    assert WIDGET_MIME not in data and data["text/plain"] == repr(plain)

    result = PatchingResult.wrap(torch.randn(5, 2, 4), SWEEPS["head_components_all_pos"])
    data, _ = shell.display_formatter.format(result)
    assert WIDGET_MIME in data and data["text/plain"] == repr(result.as_subclass(torch.Tensor))
    data, _ = shell.display_formatter.format(result.cpu())  # moving a result keeps its spec
    assert WIDGET_MIME in data
    data, _ = shell.display_formatter.format(result[0])  # an indexed result is a plain tensor
    assert WIDGET_MIME not in data

    bad = PatchingResult.wrap(torch.full((2, 3), float("nan")), SWEEPS["resid_pre"])
    data, _ = shell.display_formatter.format(bad)
    assert WIDGET_MIME not in data  # the widget refuses NaN: plain text, no traceback

    lenslab.unregister_formatters(shell)
    data, _ = shell.display_formatter.format(cache)
    assert WIDGET_MIME not in data and data["text/plain"] == repr(cache)


def test_nothing_is_registered_outside_a_kernel():
    class TerminalShell:
        display_formatter = DisplayFormatter()

    assert lenslab.register_formatters(TerminalShell()) is False
    assert lenslab.register_formatters() is False  # plain pytest: no IPython kernel
