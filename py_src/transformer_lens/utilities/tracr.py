"""Upstream's ``transformer_lens.utilities.tracr``: reading a compiled Tracr (RASP) model's output basis.

Tracr labels each residual dimension ``"<rasp label>:<value>"``; a categorical output is read from
the dimensions of the program's final expression, one per output value, in the order of the
output encoder's ``encoding_map`` (value -> output column). The TransformerBridge builders of
upstream's module are not provided.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

import numpy as np

from transformer_lens._not_provided import not_provided


def _encoding_map(model: Any) -> Mapping:
    encoding_map = getattr(getattr(model, "output_encoder", None), "encoding_map", None)
    if not isinstance(encoding_map, Mapping):
        raise NotImplementedError("only categorical Tracr outputs are supported (model.output_encoder.encoding_map)")
    return encoding_map


def _residual_labels(model: Any) -> list[str]:
    labels = getattr(model, "residual_labels", None)
    if labels is None:
        raise ValueError("a compiled Tracr model exposes residual_labels; this object has none")
    return [str(label) for label in labels]


def infer_tracr_output_label(model: Any) -> str:
    """The RASP label whose residual values are exactly the output encoder's values.

    Raises ``ValueError`` (asking for ``output_label``) when no label, or more than one, fits.
    """
    wanted = {str(value) for value in _encoding_map(model)}
    values: dict[str, set[str]] = {}
    for residual_label in _residual_labels(model):
        label, colon, value = residual_label.rpartition(":")
        if colon:
            values.setdefault(label, set()).add(value)
    candidates = [label for label, seen in values.items() if seen == wanted]
    if len(candidates) != 1:
        raise ValueError(
            f"Could not infer the Tracr output label from residual_labels ({len(candidates)} candidates: "
            f"{candidates!r}). Pass output_label explicitly."
        )
    return candidates[0]


def make_tracr_categorical_unembed(
    model: Any, output_label: Optional[str] = None, *, dtype: np.dtype = np.dtype("float32")
) -> np.ndarray:
    """``[d_model, d_vocab_out]`` 0/1 matrix reading each output value's residual dimension.

    ``output_label`` defaults to :func:`infer_tracr_output_label`'s answer.
    """
    encoding_map = _encoding_map(model)
    label = infer_tracr_output_label(model) if output_label is None else output_label
    position = {name: index for index, name in enumerate(_residual_labels(model))}
    unembed = np.zeros((len(position), len(encoding_map)), dtype=dtype)
    for value, column in encoding_map.items():
        name = f"{label}:{value}"
        if name not in position:
            raise ValueError(f"{name!r} is not in model.residual_labels: pass the final RASP expression's label as output_label")
        unembed[position[name], int(column)] = 1
    return unembed


def make_tracr_transformer_bridge_config(model: Any) -> Any:
    raise not_provided("transformer_lens.utilities.tracr.make_tracr_transformer_bridge_config", "TransformerBridge is not part of LensLab")


def make_tracr_transformer_bridge_state_dict(model: Any, *args: Any, **kwargs: Any) -> Any:
    raise not_provided(
        "transformer_lens.utilities.tracr.make_tracr_transformer_bridge_state_dict", "TransformerBridge is not part of LensLab"
    )
