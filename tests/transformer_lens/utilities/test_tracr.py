"""``utilities.tracr``: a categorical output read from the residual dimensions Tracr labels."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from transformer_lens.utilities.tracr import infer_tracr_output_label, make_tracr_categorical_unembed


def compiled(labels, encoding_map):
    return SimpleNamespace(residual_labels=labels, output_encoder=SimpleNamespace(encoding_map=encoding_map))


def test_unembed_reads_each_output_values_dimension_into_its_column():
    labels = ["tokens:a", "tokens:b", "tokens:BOS", "indices:0", "indices:1", "sort:b", "sort:a", "one"]
    model = compiled(labels, {"a": 0, "b": 1})
    assert infer_tracr_output_label(model) == "sort"  # tokens has a third value, so only sort fits
    unembed = make_tracr_categorical_unembed(model)
    # A residual stream holding one-hot "sort:a" reads as output column 0, "sort:b" as column 1.
    residual = np.zeros((2, len(labels)))
    residual[0, labels.index("sort:a")] = residual[1, labels.index("sort:b")] = 1
    assert (residual @ unembed).argmax(-1).tolist() == [0, 1]
    assert unembed.shape == (8, 2) and unembed.sum() == 2 and unembed.dtype == np.float32


def test_ambiguous_or_missing_labels_ask_for_output_label():
    model = compiled(["x:1", "x:2", "y:1", "y:2"], {1: 0, 2: 1})
    with pytest.raises(ValueError, match="2 candidates.*Pass output_label explicitly"):
        infer_tracr_output_label(model)
    assert make_tracr_categorical_unembed(model, output_label="y")[2:].tolist() == [[1, 0], [0, 1]]
    with pytest.raises(ValueError, match="'z:1' is not in model.residual_labels"):
        make_tracr_categorical_unembed(model, output_label="z")
    with pytest.raises(NotImplementedError, match="only categorical"):
        infer_tracr_output_label(SimpleNamespace(residual_labels=[], output_encoder=None))
