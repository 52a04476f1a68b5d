"""ColoredTokens: a prompt's tokens as chips coloured by any per-token quantity.

Like circuitsvis' ``colored_tokens``: gradients, losses, logit differences, a neuron's
activations. Signed values share one symmetric diverging scale centred on zero; non-negative
ones a sequential scale from zero. With several columns (values ``[pos, k]``) a selector
switches the column, and every column uses the same scale so they compare by eye.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import traitlets

from lenslab.widgets import _token_html
from lenslab.widgets._base import LensWidget, batched_str_tokens, bundle
from lenslab.widgets._colors import scale_range
from lenslab.widgets._tensor_payload import check_finite, check_scale, encode, shape_text, to_numpy


class ColoredTokens(LensWidget):
    """Tokens coloured by a value each; hover a chip for its index and exact value.

    Args:
        tokens: the token strings (a list), or token ids / a prompt with ``model=`` to decode them.
        values: one value per token, shaped ``[pos]`` (or ``[1, pos]``: a batch of one), or
            ``[pos, k]`` for k quantities to switch between (``labels`` names them).
        title: heading above the tokens.
        vmax: half-width of a diverging scale, or the top of a sequential one (default: the
            largest |value| over all columns).
        cmap: ``"auto"`` (diverging when any value is negative, else sequential), ``"diverging"``
            or ``"sequential"``.
        labels: names of the k columns (default ``"0"``, ``"1"``, ...).
        column: the column shown first.
        model: a HookedTransformer, to turn token ids or a prompt into token strings.
        allow_nan: show NaN/inf values as grey chips instead of raising.
    """

    _esm = bundle("colored_tokens.js")

    tokens = traitlets.List(traitlets.Unicode(), help="the token strings, one per position").tag(sync=True)
    column_labels = traitlets.List(traitlets.Unicode(), help="names of the value columns").tag(sync=True)
    column = traitlets.Int(0, help="the value column shown").tag(sync=True)
    cmap = traitlets.Unicode("diverging", help="the colour scale").tag(sync=True)
    vmin = traitlets.Float(-1.0, help="the value at the scale's bottom").tag(sync=True)
    vmax = traitlets.Float(1.0, help="the value at the scale's top").tag(sync=True)

    def __init__(
        self,
        tokens: Any,
        values: Any,
        *,
        title: Optional[str] = None,
        vmax: Optional[float] = None,
        cmap: str = "auto",
        labels: Optional[Sequence[str]] = None,
        column: int = 0,
        model: Any = None,
        allow_nan: bool = False,
        **kwargs: Any,
    ) -> None:
        if isinstance(tokens, (list, tuple)) and not tokens:
            raise ValueError("tokens is empty: pass at least one token")
        rows = batched_str_tokens(tokens, model)
        if len(rows) != 1:
            raise ValueError(f"tokens must be one prompt; got {len(rows)} rows (pick one, e.g. tokens[0])")
        str_tokens = rows[0]
        arr = to_numpy(values, "values").astype(np.float64)
        if arr.ndim == 2 and arr.shape[0] == 1 and len(str_tokens) > 1 and arr.shape[1] == len(str_tokens):
            arr = arr[0]  # a batch of one prompt, [1, pos] (e.g. a per-token loss of model(tokens))
        if arr.ndim not in (1, 2):
            raise ValueError(f"values must be shaped [pos] or [pos, k]; got {shape_text(arr.shape)}")
        grid = arr[:, None] if arr.ndim == 1 else arr  # [pos, k]
        if grid.shape[0] != len(str_tokens):
            raise ValueError(f"tokens has {len(str_tokens)} entries but values has {grid.shape[0]} positions (shape {shape_text(arr.shape)})")
        if grid.shape[1] == 0:
            raise ValueError(f"values has no columns (shape {shape_text(arr.shape)})")
        check_finite(grid, "values", allow_nan)
        if vmax is not None:
            vmax = check_scale(vmax)
        names = [str(i) for i in range(grid.shape[1])] if labels is None else [str(x) for x in labels]
        if len(names) != grid.shape[1]:
            raise ValueError(f"labels has {len(names)} entries but values has {grid.shape[1]} columns")
        if not 0 <= column < grid.shape[1]:
            raise ValueError(f"column={column} is out of range for {grid.shape[1]} column(s)")
        kind, lo, hi = scale_range(grid, cmap, vmax)
        super().__init__(
            **encode(grid, "float32").traits(),
            tokens=str_tokens,
            column_labels=names,
            column=column,
            cmap=kind,
            vmin=lo,
            vmax=hi,
            title=title or "",
            **kwargs,
        )

    @traitlets.validate("cmap")
    def _check_cmap(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in ("diverging", "sequential"):
            raise traitlets.TraitError(f"cmap must be 'diverging' or 'sequential'; got {proposal['value']!r}")
        return str(proposal["value"])

    @traitlets.validate("column")
    def _check_column(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        k = self.shape[1] if len(self.shape) == 2 else 1
        if not 0 <= value < max(k, 1):
            raise traitlets.TraitError(f"column={value} is out of range for {k} column(s)")
        return value

    def values(self, column: Optional[int] = None) -> np.ndarray:
        """The values of one column ([pos]) as the front end receives them (float32)."""
        return self.tensor()[:, self.column if column is None else column]

    def static_html(self) -> str:
        """Self-contained HTML of the shown column: the chips, hover titles and the colour bar."""
        name = self.column_labels[self.column] if len(self.column_labels) > 1 else ""
        heading = " \u00b7 ".join(x for x in (self.title, name) if x)
        values = self.values()
        body = f'<div style="line-height:1.9">{_token_html.chips(self.tokens, values, self.cmap, self.vmin, self.vmax)}</div>'  # type: ignore[arg-type]
        return _token_html.box("colored-tokens", heading, body + _token_html.colorbar(self.cmap, self.vmin, self.vmax))  # type: ignore[arg-type]

    def __repr__(self) -> str:
        k = self.shape[1] if len(self.shape) == 2 else 1
        values = self.tensor()
        finite = values[np.isfinite(values)]
        span = f", values {_token_html.format_value(float(finite.min()))}..{_token_html.format_value(float(finite.max()))}" if finite.size else ""
        cols = f" x {k} columns" if k > 1 else ""
        title = f", title={self.title!r}" if self.title else ""
        n = len(self.tokens)
        return f"ColoredTokens({n} token{'' if n == 1 else 's'}{cols}{span}, {self.cmap} scale{title})"
