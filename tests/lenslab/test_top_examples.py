"""TopExamples: the payload equals the inputs, one scale, max tokens, validation, repr, static HTML."""

from __future__ import annotations

import base64
import html
import inspect
import re

import anywidget
import jsonschema
import numpy as np
import pytest
import torch

import lenslab
from lenslab import TopExamples
from lenslab.widgets import _colors, trait_schema as ts

CONTEXTS = [["def", " f", "(\n"], ["x", " =", " <4>"]]
VALUES = [[0.5, 4.0, 1.0], [0.0, 0.25, 3.0]]
ARGS = dict(contexts=CONTEXTS, values=VALUES, scores=[4.0, 3.0], hist_counts=[10, 4, 0, 1], hist_edges=[0.0, 1.0, 2.0, 3.0, 4.0])


def test_the_signature_is_the_one_scale_produces():
    params = inspect.signature(TopExamples).parameters
    assert list(params) == ["contexts", "values", "scores", "hist_counts", "hist_edges", "title"]
    assert params["title"].default == ""
    assert lenslab.TopExamples is TopExamples


def test_payload_equals_the_inputs():
    w = TopExamples(**ARGS, title="L0 neuron 5")
    assert [(toks, vals.tolist()) for toks, vals in w.examples()] == list(zip(CONTEXTS, VALUES))
    assert w.tokens == CONTEXTS[0] + CONTEXTS[1] and w.lengths == [3, 3] and w.shape == [6]
    assert w.scores == [4.0, 3.0] and w.hist_counts == [10, 4, 0, 1] and w.hist_edges == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert w.title == "L0 neuron 5"


def test_one_scale_over_every_context_and_the_max_token_of_each():
    w = TopExamples(**ARGS)
    assert (w.cmap, w.vmin, w.vmax) == ("sequential", 0.0, 4.0)
    assert w.max_positions == [int(np.argmax(v)) for v in VALUES] == [1, 2]
    signed = TopExamples(**{**ARGS, "values": [[-0.5, 2.0, 1.0], [0.0, -6.0, 3.0]]})
    assert (signed.cmap, signed.vmin, signed.vmax) == ("diverging", -6.0, 6.0)
    assert signed.max_positions == [1, 2]


def test_tensors_and_arrays_are_accepted():
    w = TopExamples(CONTEXTS, [torch.tensor(v) for v in VALUES], np.array([4.0, 3.0]), np.array([10, 4, 0, 1]), torch.linspace(0, 4, 5))
    assert w.hist_edges == [0.0, 1.0, 2.0, 3.0, 4.0] and w.hist_counts == [10, 4, 0, 1]
    np.testing.assert_array_equal(w.tensor(), np.float32(VALUES[0] + VALUES[1]))


def test_no_examples_and_no_histogram():
    w = TopExamples([], [], [], [], [])
    assert w.lengths == [] and w.shape == [0]
    assert repr(w) == "TopExamples(0 examples, 0 tokens, 0-bin histogram)"


@pytest.mark.parametrize(
    "change, error, message",
    [
        ({"scores": [4.0]}, ValueError, r"contexts, values and scores must have one entry per example; got 2, 2 and 1"),
        ({"values": [[0.5, 4.0], [0.0, 0.25, 3.0]]}, ValueError, r"contexts\[0\] has 3 tokens but values\[0\] has 2 values"),
        ({"values": [[0.5, float("nan"), 1.0], [0.0, 0.25, 3.0]]}, ValueError, r"values\[0\] has 1 NaN/inf value\(s\), the first at index 1"),
        ({"scores": [4.0, float("inf")]}, ValueError, r"scores has 1 NaN/inf"),
        ({"contexts": ["def f(", ["x", " =", " 4"]]}, TypeError, r"contexts\[0\] must be a list of token strings"),
        ({"contexts": [[], ["x", " =", " 4"]], "values": [[], [0.0, 0.25, 3.0]]}, ValueError, r"contexts\[0\] is empty"),
        ({"hist_edges": [0.0, 1.0, 2.0]}, ValueError, r"hist_edges must have one more entry than hist_counts; got 3 edges for 4 counts"),
        ({"hist_edges": [0.0, 1.0, 1.0, 3.0, 4.0]}, ValueError, r"hist_edges must be strictly increasing"),
        ({"hist_counts": [10, -4, 0, 1]}, ValueError, r"hist_counts must not be negative"),
        ({"hist_counts": [10, 4.5, 0, 1]}, ValueError, r"hist_counts must be a flat list of whole numbers"),
    ],
)
def test_bad_input_is_one_line(change, error, message):
    with pytest.raises(error, match=message) as info:
        TopExamples(**{**ARGS, **change})
    assert "\n" not in str(info.value)


def test_repr():
    w = TopExamples(**ARGS, title="L0 neuron 5")
    assert repr(w) == "TopExamples(2 examples, 6 tokens, top score 4, 4-bin histogram, title='L0 neuron 5')"
    assert w._repr_mimebundle_()[0]["text/plain"] == repr(w)


def test_static_html_holds_every_token_its_colour_the_max_and_the_histogram():
    w = TopExamples(**ARGS, title="L0 neuron 5")
    page = w.static_html()
    assert "<script" not in page and "L0 neuron 5" in page
    assert page.startswith('<div class="lenslab-static" data-lenslab-static="top-examples"')
    spans = re.findall(r'<span data-pos="(\d+)" style="([^"]*)" title="([^"]*)">([^<]*)</span>', page)
    assert len(spans) == 6
    flat_tokens, flat_values = CONTEXTS[0] + CONTEXTS[1], VALUES[0] + VALUES[1]
    expected = _colors.colors(flat_values, "sequential", 0.0, 4.0)
    for (pos, style, title, text), tok, v, rgb in zip(spans, flat_tokens, flat_values, expected):
        assert html.unescape(text) == tok.replace("\n", "\u21b5")
        assert f"background-color:{_colors.css(rgb)};color:{_colors.text_color_on(rgb)}" in style
        assert html.unescape(title).endswith(f": {v:g}")
    outlined = [html.unescape(s[3]) for s in spans if "outline" in s[1]]
    assert outlined == [" f", " <4>"]
    assert "score 4" in page and "score 3" in page and "#1" in page and "#2" in page
    bars = re.findall(r'title="\[([^,]+), ([^)]+)\): (\d+)" style="[^"]*height:([0-9.]+)px;background-color:([^;]+);', page)
    assert [(float(a), float(b), int(c)) for a, b, c, _, _ in bars] == [(0, 1, 10), (1, 2, 4), (2, 3, 0), (3, 4, 1)]
    assert [float(hgt) for *_, hgt, _ in bars] == [60.0, 24.0, 0.0, 6.0]
    assert [bg for *_, bg in bars] == [_colors.css(c) for c in _colors.colors([0.5, 1.5, 2.5, 3.5], "sequential", 0, 4)]


def test_state_fits_the_generated_schema():
    w = TopExamples(**ARGS)
    names = set(type(w).class_traits(sync=True)) - set(anywidget.AnyWidget.class_traits(sync=True))
    state = {n: getattr(w, n) for n in names if not n.startswith("_") and n != "data"}
    validator = jsonschema.Draft202012Validator({**ts.trait_schema(), "$ref": "#/$defs/TopExamplesModel"})
    validator.validate({**state, "data": base64.b64encode(b"").decode()})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**state, "data": "", "lengths": ["3"]})
