"""Tensors as widget payloads: little-endian float16/float32 bytes plus shape and dtype traits.

Widgets never send tensors as JSON lists. A payload is the raw bytes of a C-contiguous
array; the front end reads them as a ``DataView`` (``js/src/shared/tensor.ts``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence

import numpy as np

Precision = Literal["auto", "float16", "float32"]

#: Payload dtype name -> the numpy dtype of its bytes (always little-endian).
PAYLOAD_DTYPES: dict[str, np.dtype] = {"float16": np.dtype("<f2"), "float32": np.dtype("<f4")}

#: "auto" sends float16 from this many elements on (a 12x512x512 pattern is 3.1M).
AUTO_FLOAT16_MIN_ELEMENTS = 1 << 20
FLOAT16_MAX = 65504.0
#: Below this magnitude float16 is subnormal: it keeps fewer significant bits, down to 0 at ~3e-8.
FLOAT16_MIN_NORMAL = 2.0**-14
#: float16's relative precision: a value this much smaller than the largest one is below what a
#: colour scale (or a 3-digit tooltip) relative to that largest value can show.
FLOAT16_EPSILON = 2.0**-11


@dataclass(frozen=True)
class TensorPayload:
    """The three synced traits that carry one tensor."""

    data: bytes
    dtype: str
    shape: tuple[int, ...]

    def traits(self) -> dict[str, Any]:
        return {"data": self.data, "dtype": self.dtype, "shape": list(self.shape)}


def to_numpy(value: Any, what: str) -> np.ndarray:
    """A numpy view or copy of a torch tensor, numpy array or nested sequence of numbers.

    Torch tensors are detached and moved to the CPU; low-precision floats (bfloat16) are
    widened to float32 because numpy cannot hold them.
    """
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch.Tensor, without importing torch
        value = value.detach().cpu()
        if getattr(value, "is_floating_point", lambda: False)() and str(value.dtype) not in ("torch.float32", "torch.float64", "torch.float16"):
            value = value.float()
        value = value.numpy()
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be a tensor or array of numbers, got {type(value).__name__}") from exc
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{what} must hold real numbers, got dtype {arr.dtype}")
    return arr


def shape_text(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(int(d)) for d in shape) + "]"


def check_finite(arr: np.ndarray, what: str, allow_nan: bool = False) -> None:
    """Raises a one-line ValueError naming the first NaN/inf entry (unless allowed)."""
    if allow_nan or arr.dtype.kind != "f":
        return
    bad = ~np.isfinite(arr)
    count = int(bad.sum())
    if count:
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{what} has {count} NaN/inf value(s), the first at index {first} "
            f"({float(arr[first])}); clean it, or pass allow_nan=True to show them as grey cells"
        )


def choose_dtype(arr: np.ndarray, precision: Precision = "auto") -> str:
    """The payload dtype: with precision "auto", float16 for big arrays whose values it holds.

    float16 holds the values when none overflows it and every value that is visible next to the
    largest one (within float16's relative precision of it) is a normal float16, so keeps its
    relative precision. A grid of tiny values (1e-8, which float16 rounds to 0) goes as float32.
    """
    if precision in PAYLOAD_DTYPES:
        return precision
    if precision != "auto":
        raise ValueError(f"precision must be one of 'auto', 'float16', 'float32'; got {precision!r}")
    if arr.size < AUTO_FLOAT16_MIN_ELEMENTS:
        return "float32"
    magnitudes = np.abs(arr[np.isfinite(arr)] if arr.dtype.kind == "f" else arr)
    peak = float(magnitudes.max()) if magnitudes.size else 0.0
    if peak >= FLOAT16_MAX:
        return "float32"
    visible = max(peak * FLOAT16_EPSILON, 1e-300)  # zeros are exact in float16
    imprecise = (magnitudes >= visible) & (magnitudes < FLOAT16_MIN_NORMAL)
    return "float32" if bool(imprecise.any()) else "float16"


def check_scale(vmax: object, zero_means: str | None = None) -> float:
    """``vmax`` as a finite float: > 0, or >= 0 where 0 has a meaning (``zero_means``)."""
    bound = ">= 0" if zero_means else "> 0"
    hint = f" ({zero_means})" if zero_means else ""
    if isinstance(vmax, bool) or not isinstance(vmax, (int, float, np.integer, np.floating)):
        raise TypeError(f"vmax must be a finite number {bound}{hint}, got {type(vmax).__name__}")
    value = float(vmax)
    if not np.isfinite(value) or value < 0 or (value == 0 and not zero_means):
        raise ValueError(f"vmax must be a finite number {bound}{hint}, got {value}")
    return value


def encode(arr: np.ndarray, precision: Precision = "auto") -> TensorPayload:
    """Converts `arr` to the payload dtype and takes its C-order little-endian bytes."""
    dtype = choose_dtype(arr, precision)
    out = np.ascontiguousarray(arr, dtype=PAYLOAD_DTYPES[dtype])
    return TensorPayload(data=out.tobytes(), dtype=dtype, shape=tuple(int(d) for d in out.shape))


def decode(data: bytes | memoryview, dtype: str, shape: Sequence[int]) -> np.ndarray:
    """The inverse of `encode` (what the front end reads), as a read-only numpy array."""
    if dtype not in PAYLOAD_DTYPES:
        raise ValueError(f"unknown payload dtype {dtype!r}; expected one of {sorted(PAYLOAD_DTYPES)}")
    np_dtype = PAYLOAD_DTYPES[dtype]
    expected = int(np.prod(shape, dtype=np.int64)) * np_dtype.itemsize
    if len(data) != expected:
        raise ValueError(f"payload has {len(data)} bytes but shape {shape_text(shape)} of {dtype} needs {expected}")
    return np.frombuffer(data, dtype=np_dtype).reshape(tuple(shape))
