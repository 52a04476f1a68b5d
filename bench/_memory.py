"""Process memory for the benchmarks: tracemalloc cannot see torch's CPU allocations, so read
the kernel's counters. VmRSS is the resident set now, VmHWM its peak since the last reset, and
writing "5" to /proc/self/clear_refs resets VmHWM to the current RSS (Linux 4.0+). Before each
measurement we collect garbage and malloc_trim so freed heap pages go back to the kernel and
the baseline is not inflated by earlier runs. Memory glibc keeps for reuse can still make the
"held" figure read a little high or low.
"""

from __future__ import annotations

import ctypes
import gc
from typing import Callable


def status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _trim() -> None:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def measure_memory(fn: Callable[[], object]) -> tuple[object, float | None, float | None]:
    """Run fn; return (its result, peak RSS growth MiB, RSS growth still held with the result)."""
    _trim()
    base = status_kib("VmRSS")
    can_peak = _reset_peak()
    result = fn()
    peak = status_kib("VmHWM") if can_peak else None
    now = status_kib("VmRSS")
    if base is None or now is None:
        return result, None, None
    return result, (peak - base) / 1024 if peak is not None else None, (now - base) / 1024
