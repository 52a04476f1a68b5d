"""mypy, strict, on the scope pyproject.toml's [tool.mypy] names (the patching engine, the sweep
registry, the model base, the loading pipeline, the kernel helper and display, the sidebar's comm
layer): CI fails on a type error there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mypy_strict_scope_passes():
    pytest.importorskip("mypy", reason="mypy is in the test extra: pip install -e .[test]")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "Success: no issues found" in done.stdout
