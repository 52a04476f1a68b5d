"""Tensor payloads: exact byte round trips, dtype choice and input checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lenslab.widgets._tensor_payload import (
    AUTO_FLOAT16_MIN_ELEMENTS,
    check_finite,
    check_scale,
    choose_dtype,
    decode,
    encode,
    to_numpy,
)


@pytest.mark.parametrize("precision", ["float32", "float16"])
def test_round_trip_is_exact_in_the_payload_dtype(precision):
    arr = np.random.default_rng(0).normal(size=(3, 5, 7)).astype(np.float64)
    payload = encode(arr, precision)
    assert payload.dtype == precision
    assert payload.shape == (3, 5, 7)
    assert isinstance(payload.data, bytes) and len(payload.data) == arr.size * (2 if precision == "float16" else 4)
    back = decode(payload.data, payload.dtype, payload.shape)
    np.testing.assert_array_equal(back, arr.astype(precision))


def test_bytes_are_little_endian_c_order():
    payload = encode(np.array([[1.0, 2.0], [3.0, 4.0]]).T, "float32")  # a non-contiguous view
    assert payload.data == np.array([[1.0, 3.0], [2.0, 4.0]], dtype="<f4").tobytes()


def test_auto_precision_uses_float16_only_for_big_arrays_in_range():
    small = np.ones((10, 10), np.float32)
    big = np.ones(AUTO_FLOAT16_MIN_ELEMENTS, np.float32)
    assert choose_dtype(small) == "float32"
    assert choose_dtype(big) == "float16"
    big[3] = 1e6  # would overflow float16
    assert choose_dtype(big) == "float32"
    with pytest.raises(ValueError, match="precision must be one of"):
        choose_dtype(small, "float64")  # type: ignore[arg-type]


def test_torch_tensors_of_any_float_dtype_and_device_convert():
    t = torch.randn(2, 3, requires_grad=True)
    np.testing.assert_array_equal(to_numpy(t, "x"), t.detach().numpy())
    bf = torch.tensor([1.5, -2.0], dtype=torch.bfloat16)
    assert to_numpy(bf, "x").tolist() == [1.5, -2.0]
    assert to_numpy(torch.tensor([1, 2]), "x").dtype.kind == "i"
    assert to_numpy([[1, 2], [3, 4]], "x").shape == (2, 2)


def test_non_numeric_input_is_refused():
    with pytest.raises(TypeError, match="pattern must hold real numbers"):
        to_numpy(np.array(["a", "b"]), "pattern")
    with pytest.raises(TypeError, match="real numbers"):
        to_numpy(np.array([1 + 2j]), "pattern")


def test_nan_and_inf_give_a_one_line_error_naming_the_first():
    arr = np.zeros((2, 3), np.float32)
    arr[1, 2] = np.inf
    arr[0, 1] = np.nan
    with pytest.raises(ValueError) as info:
        check_finite(arr, "results")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("results has 2 NaN/inf value(s), the first at index (0, 1) (nan)")
    assert "allow_nan=True" in message
    check_finite(arr, "results", allow_nan=True)
    check_finite(np.array([1, 2]), "ints")


def test_decode_checks_sizes_and_dtypes():
    with pytest.raises(ValueError, match="payload has 4 bytes but shape \\[2\\] of float32 needs 8"):
        decode(b"\0" * 4, "float32", [2])
    with pytest.raises(ValueError, match="unknown payload dtype"):
        decode(b"", "int8", [0])


def test_auto_precision_keeps_tiny_values_that_float16_would_lose():
    n = AUTO_FLOAT16_MIN_ELEMENTS
    generator = np.random.default_rng(0)
    tiny = (generator.standard_normal(n) * 1e-8).astype(np.float32)  # float16 rounds these to 0 or a few ulps
    assert np.count_nonzero(tiny.astype(np.float16)) < n // 2
    payload = encode(tiny)
    assert payload.dtype == "float32"
    np.testing.assert_array_equal(decode(payload.data, payload.dtype, payload.shape), tiny)
    # A visible value (within 2^-11 of the largest) below float16's smallest normal would lose
    # its relative precision: 1e-5 next to 0.01 is subnormal in float16.
    mixed = np.full(n, 0.01, np.float32)
    mixed[5] = 1e-5
    assert choose_dtype(mixed) == "float32"
    mixed[5] = 1e-4  # a normal float16
    assert choose_dtype(mixed) == "float16"
    # Values far below the largest one are invisible next to it on any scale: float16 is fine,
    # as for an attention pattern (a big one is 12 x 512 x 512) with near-zero weights.
    pattern = np.full(n, 0.5, np.float32)
    pattern[::7] = 1e-9
    pattern[::11] = 0.0
    assert choose_dtype(pattern) == "float16"
    # Normal-range values keep float16's relative precision (2^-11) after the round trip.
    wide = (generator.uniform(1e-3, 1e3, n) * generator.choice([-1, 1], n)).astype(np.float32)
    payload = encode(wide)
    assert payload.dtype == "float16"
    back = decode(payload.data, payload.dtype, payload.shape).astype(np.float32)
    assert float(np.max(np.abs(back - wide) / np.abs(wide))) <= 2.0**-11


@pytest.mark.parametrize(
    "vmax, zero_means, error, message",
    [
        (float("nan"), None, ValueError, "vmax must be a finite number > 0, got nan"),
        (float("-inf"), None, ValueError, "got -inf"),
        (0, None, ValueError, "vmax must be a finite number > 0, got 0.0"),
        (-0.5, "0 means automatic", ValueError, r"vmax must be a finite number >= 0 \(0 means automatic\), got -0.5"),
        (True, None, TypeError, "got bool"),
        ("2", None, TypeError, "got str"),
    ],
)
def test_check_scale(vmax, zero_means, error, message):
    with pytest.raises(error, match=message):
        check_scale(vmax, zero_means)
    assert check_scale(0, "0 means automatic") == 0.0 and check_scale(np.float32(2.5)) == 2.5
