"""tools.train_tiny is a developer tool: runnable from the repository root, absent from the wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_module_runs_from_the_repository_root_with_its_flags():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, "-m", "tools.train_tiny", "--help"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    for flag in ("--out", "--steps", "--log-every", "--only", "--report", "--curve-every"):
        assert flag in done.stdout


def test_wheel_packages_leave_the_tools_out():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = config["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert packages and not any(package.split("/")[0] == "tools" or "train_tiny" in package for package in packages)
    assert not (ROOT / "py_src/transformer_lens/pretrained/train_tiny.py").exists()


def test_runtime_package_imports_no_training_code():
    code = "import sys, transformer_lens, lenslab; print(sorted(m for m in sys.modules if m.startswith('tools')))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
