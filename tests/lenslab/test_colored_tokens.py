"""ColoredTokens: payload equals the inputs, the scale, validation in one line, repr and static HTML."""

from __future__ import annotations

import base64
import html
import re

import jsonschema
import numpy as np
import pytest
import torch

import lenslab
from lenslab import ColoredTokens
from lenslab.widgets import _colors, trait_schema as ts

TOKENS = ["The", " cat", "\n", " sat", "<b>&"]


def test_values_arrive_exactly_as_given_with_the_tokens():
    values = torch.tensor([0.25, -1.5, 0.0, 3.0, -0.125])
    w = ColoredTokens(TOKENS, values, title="grad")
    assert w.tokens == TOKENS and w.title == "grad"
    assert w.shape == [5, 1] and w.dtype == "float32"
    np.testing.assert_array_equal(w.values(), values.numpy())
    assert (w.cmap, w.vmin, w.vmax) == ("diverging", -3.0, 3.0)
    assert w.column_labels == ["0"] and w.column == 0
    assert lenslab.ColoredTokens is ColoredTokens


def test_non_negative_values_get_a_sequential_scale_and_vmax_is_respected():
    w = ColoredTokens(["a", "b"], [0.5, 2.0])
    assert (w.cmap, w.vmin, w.vmax) == ("sequential", 0.0, 2.0)
    w = ColoredTokens(["a", "b"], np.array([0.5, -2.0]), vmax=10)
    assert (w.cmap, w.vmin, w.vmax) == ("diverging", -10.0, 10.0)
    assert ColoredTokens(["a", "b"], [0.5, 2.0], cmap="diverging").cmap == "diverging"


def test_columns_share_one_scale_and_switch():
    values = np.array([[1.0, -4.0], [2.0, 0.5], [0.0, 1.0]])
    w = ColoredTokens(["x", "y", "z"], values, labels=["grad", "act"], column=1)
    assert w.shape == [3, 2] and w.column_labels == ["grad", "act"] and w.column == 1
    np.testing.assert_array_equal(w.tensor(), values.astype(np.float32))
    np.testing.assert_array_equal(w.values(), values[:, 1])
    assert (w.cmap, w.vmin, w.vmax) == ("diverging", -4.0, 4.0)
    w.column = 0
    np.testing.assert_array_equal(w.values(), values[:, 0])
    with pytest.raises(Exception, match="out of range"):
        w.column = 2


def test_a_batch_of_one_prompt_is_one_row():
    w = ColoredTokens(["a", "b", "c"], torch.tensor([[1.0, -2.0, 3.0]]))
    assert w.shape == [3, 1]
    np.testing.assert_array_equal(w.values(), [1.0, -2.0, 3.0])
    assert ColoredTokens(["a"], [[1.0, 2.0]]).shape == [1, 2]  # one token, two columns: not a batch


def test_token_ids_or_a_prompt_are_decoded_with_a_model(gpt2_model):
    ids = gpt2_model.to_tokens("hello world\n", prepend_bos=False)[0]
    w = ColoredTokens(ids, torch.arange(len(ids), dtype=torch.float32), model=gpt2_model)
    assert w.tokens == gpt2_model.to_str_tokens(ids) == ["hello", " world", "\n"]
    assert ColoredTokens("hello world\n", [1.0, 2.0, 3.0, 4.0], model=gpt2_model).tokens[1:] == w.tokens


@pytest.mark.parametrize(
    "tokens, values, kwargs, error, message",
    [
        (["a", "b"], [1.0], {}, ValueError, r"tokens has 2 entries but values has 1 positions \(shape \[1\]\)"),
        (["a", "b"], [1.0, float("nan")], {}, ValueError, r"values has 1 NaN/inf value\(s\), the first at index \(1, 0\)"),
        (["a", "b"], [1.0, float("inf")], {}, ValueError, r"NaN/inf"),
        (["a"], np.zeros((1, 2, 3)), {}, ValueError, r"values must be shaped \[pos\] or \[pos, k\]; got \[1, 2, 3\]"),
        ([], [], {}, ValueError, r"tokens is empty"),
        (["a"], [[1.0, 2.0]], {"labels": ["x"]}, ValueError, r"labels has 1 entries but values has 2 columns"),
        (["a"], [1.0], {"cmap": "viridis"}, ValueError, r"cmap must be 'auto', 'diverging' or 'sequential'"),
        (["a"], [1.0], {"vmax": -1}, ValueError, r"vmax must be a finite number > 0"),
        (["a"], [1.0], {"column": 3}, ValueError, r"column=3 is out of range for 1 column"),
        (["a"], ["x"], {}, TypeError, r"values must hold real numbers"),
        ("a prompt", [1.0], {}, TypeError, r"pass a model"),
    ],
)
def test_bad_input_is_one_line(tokens, values, kwargs, error, message):
    with pytest.raises(error, match=message) as info:
        ColoredTokens(tokens, values, **kwargs)
    assert "\n" not in str(info.value)


def test_nan_allowed_shows_grey():
    w = ColoredTokens(["a", "b"], [1.0, float("nan")], allow_nan=True)
    assert (w.cmap, w.vmax) == ("sequential", 1.0)
    assert f"background-color:{_colors.css(_colors.NAN_COLOR)}" in w.static_html()


def test_repr_is_one_short_line():
    w = ColoredTokens(TOKENS, [0.25, -1.5, 0.0, 3.0, -0.125], title="grad")
    assert repr(w) == "ColoredTokens(5 tokens, values -1.5..3, diverging scale, title='grad')"
    w2 = ColoredTokens(["a", "b"], [[1.0, 2.0], [3.0, 4.0]])
    assert repr(w2) == "ColoredTokens(2 tokens x 2 columns, values 1..4, sequential scale)"
    assert w2._repr_mimebundle_()[0]["text/plain"] == repr(w2)
    assert repr(ColoredTokens(["a"], [1.0])).startswith("ColoredTokens(1 token, ")


def test_static_html_holds_each_token_its_colour_and_hover_value():
    values = [0.25, -1.5, 0.0, 3.0, -0.125]
    w = ColoredTokens(TOKENS, values, title="grad")
    page = w.static_html()
    assert "<script" not in page and "grad" in page
    assert page.startswith('<div class="lenslab-static" data-lenslab-static="colored-tokens"')
    spans = re.findall(r'<span data-pos="(\d+)" style="([^"]*)" title="([^"]*)">([^<]*)</span>', page)
    assert [int(s[0]) for s in spans] == list(range(5))
    expected = _colors.colors(np.float32(values), "diverging", -3.0, 3.0)
    for (pos, style, title, text), tok, rgb, v in zip(spans, TOKENS, expected, values):
        assert html.unescape(text) == {"\n": "\u21b5"}.get(tok, tok)
        assert f"background-color:{_colors.css(rgb)};color:{_colors.text_color_on(rgb)}" in style
        assert html.unescape(title).startswith(f"#{pos} ") and html.unescape(title).endswith(f": {v:.6g}")
    assert expected[2] == _colors.DIVERGING_STOPS[5] and expected[3] == _colors.DIVERGING_STOPS[-1]
    assert "&lt;b&gt;&amp;" in page  # user text is escaped
    assert page.count("<br>") == 1  # the line breaks after the newline token
    assert "lenslab-static-colorbar" in page and ">-3<" in page and ">3<" in page and ">0<" in page


def test_static_html_follows_the_column():
    w = ColoredTokens(["x", "y"], [[1.0, -2.0], [2.0, 0.5]], labels=["grad", "act"])
    w.column = 1
    page = w.static_html()
    assert "act" in page
    assert _colors.css(_colors.DIVERGING_STOPS[0]) in page  # -2 is the bottom of the shared scale


def test_state_fits_the_generated_schema():
    w = ColoredTokens(["x", "y"], [[1.0, -2.0], [2.0, 0.5]], labels=["grad", "act"])
    names = set(type(w).class_traits(sync=True)) - set(__import__("anywidget").AnyWidget.class_traits(sync=True))
    state = {n: getattr(w, n) for n in names if not n.startswith("_") and n != "data"}
    schema = ts.trait_schema()
    validator = jsonschema.Draft202012Validator({**schema, "$ref": "#/$defs/ColoredTokensModel"})
    validator.validate({**state, "data": base64.b64encode(b"").decode()})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**state, "data": "", "cmap": "viridis"})
