"""LensWidget: the anywidget base class of every LensLab widget.

A widget carries one tensor as three synced traits (``data`` bytes, ``dtype``, ``shape``);
the front-end bundles live in ``lenslab/static/`` (built from ``js/`` by esbuild).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Union

import anywidget
import numpy as np
import traitlets

from lenslab.widgets._tensor_payload import PAYLOAD_DTYPES, TensorPayload, decode, shape_text

STATIC = Path(__file__).resolve().parent.parent / "static"

_MISSING_BUNDLE_ESM = """
export default {
  render({ el }) {
    const box = document.createElement('div');
    box.style.cssText = 'padding:8px;border:1px solid #e0b4b4;border-radius:4px;background:#fff6f6;color:#9f3a38;font:12px sans-serif';
    box.textContent = 'LensLab: the widget front end (%s) is not built. Run "jlpm install && jlpm build" in the source tree, or reinstall lenslab with pip.';
    el.append(box);
  }
};
"""


def bundle(name: str) -> Union[Path, str]:
    """The built front-end file `name`, or (source tree without a JS build) a stand-in.

    anywidget reads a ``Path`` and inlines its text; a stand-in ES module shows how to build
    instead of failing at import time.
    """
    path = STATIC / name
    if path.is_file():
        return path
    if name.endswith(".css"):
        return ""
    return _MISSING_BUNDLE_ESM % name


class LensWidget(anywidget.AnyWidget):
    """Base class: one tensor payload plus a title; subclasses add their own traits."""

    _css = bundle("lenslab.css")

    data = traitlets.Bytes(b"", help="C-order little-endian bytes of the tensor").tag(sync=True)
    dtype = traitlets.Unicode("float32", help="payload dtype: float16 or float32").tag(sync=True)
    shape = traitlets.List(traitlets.Int(), default_value=[0], help="tensor shape").tag(sync=True)
    title = traitlets.Unicode("", help="heading shown above the widget").tag(sync=True)

    @traitlets.validate("dtype")
    def _check_dtype(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"]
        if value not in PAYLOAD_DTYPES:
            raise traitlets.TraitError(f"dtype must be one of {sorted(PAYLOAD_DTYPES)}; got {value!r}")
        return value

    @traitlets.validate("shape")
    def _check_shape(self, proposal: dict[str, Any]) -> list[int]:
        value = list(proposal["value"])
        if any(d < 0 for d in value):
            raise traitlets.TraitError(f"shape must not have negative sizes; got {shape_text(value)}")
        return value

    @traitlets.validate("data")
    def _check_data(self, proposal: dict[str, Any]) -> bytes:
        # Runs after dtype and shape when all three are set together (hold_trait_notifications).
        value = proposal["value"]
        expected = int(np.prod(self.shape, dtype=np.int64)) * PAYLOAD_DTYPES[self.dtype].itemsize
        if len(value) != expected:
            raise traitlets.TraitError(f"data has {len(value)} bytes but shape {shape_text(self.shape)} of {self.dtype} needs {expected}")
        return value

    def _set_payload(self, payload: TensorPayload, **traits: Any) -> None:
        """Replaces the tensor (and any other traits) in one message to the front end."""
        with self.hold_sync(), self.hold_trait_notifications():
            self.dtype = payload.dtype
            self.shape = list(payload.shape)
            self.data = payload.data
            for name, value in traits.items():
                setattr(self, name, value)

    def tensor(self) -> np.ndarray:
        """The array the front end receives, decoded from the synced bytes."""
        return decode(self.data, self.dtype, self.shape)

    def static_html(self) -> str:
        """Self-contained HTML of what the widget shows (subclasses draw their picture)."""
        from lenslab.widgets import _static

        return _static.document(type(self).__name__, self.title or type(self).__name__, "")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        # The widget view plus a static copy (text/html): a saved notebook opened without the
        # kernel (GitHub, nbviewer, nbconvert, JupyterLab after a restart) still shows the picture.
        bundle = super()._repr_mimebundle_(**kwargs)
        if not bundle:
            return bundle
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        try:
            static = self.static_html()
        except Exception as exc:  # a broken static copy must never hide the live widget
            static = f"<pre>{type(self).__name__}: no static copy ({type(exc).__name__}: {exc})</pre>"
        return {**data, "text/html": static}, metadata

    def __repr__(self) -> str:
        # anywidget's default repr avoids serialising traits; keep ours just as cheap.
        title = f", title={self.title!r}" if self.title else ""
        return f"{type(self).__name__}(shape={shape_text(self.shape)}, dtype={self.dtype}{title})"


def batched_str_tokens(tokens: Any, model: Any = None, what: str = "tokens") -> list[list[str]]:
    """Token labels per prompt, from strings, token ids (+ a model to decode them) or a prompt.

    Accepts a list of token strings, a list of such lists, a prompt string (needs ``model``),
    or token ids shaped ``[pos]`` or ``[batch, pos]`` (decoded with ``model.to_str_tokens``;
    without a model the ids themselves become the labels).
    """
    if isinstance(tokens, str):
        if not _can_decode(model):
            raise TypeError(f"{what} is a string: pass a model with a tokenizer (model=) to split it into tokens, or pass a list of token strings")
        return [[str(t) for t in model.to_str_tokens(tokens)]]
    if isinstance(tokens, (list, tuple)) and tokens and all(isinstance(t, str) for t in tokens):
        return [list(tokens)]
    if isinstance(tokens, (list, tuple)) and tokens and all(isinstance(t, (list, tuple)) for t in tokens):
        if all(isinstance(t, str) for row in tokens for t in row):
            return [list(row) for row in tokens]
    from lenslab.widgets._tensor_payload import to_numpy

    ids = to_numpy(tokens, what)
    if ids.dtype.kind not in "iu" or ids.ndim not in (1, 2):
        raise TypeError(f"{what} must be token strings, a prompt, or integer token ids shaped [pos] or [batch, pos]; got {ids.dtype} {shape_text(ids.shape)}")
    rows = ids.reshape(1, -1) if ids.ndim == 1 else ids
    if _can_decode(model):
        return [[str(t) for t in model.to_str_tokens(_as_model_tokens(tokens, row, i))] for i, row in enumerate(rows)]
    return [[str(int(t)) for t in row] for row in rows]


def _can_decode(model: Any) -> bool:
    """Whether `model` can turn ids into strings (a HookedTransformer with a tokenizer)."""
    return model is not None and hasattr(model, "to_str_tokens") and getattr(model, "tokenizer", True) is not None


def _as_model_tokens(original: Any, row: np.ndarray, i: int) -> Any:
    """One prompt's ids in the form the model expects (the original tensor row when it was one)."""
    if hasattr(original, "detach"):
        return original.reshape(-1, original.shape[-1])[i]
    return row
