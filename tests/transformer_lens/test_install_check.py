"""Upstream TransformerLens beside LensLab: detected from installed distributions, one clear warning."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from transformer_lens import _install_check
from transformer_lens._install_check import UpstreamTransformerLensWarning

REPO = Path(__file__).resolve().parents[2]


def fake_distribution(site: Path, version: str, files: list[str]) -> Path:
    """A ``transformer-lens`` dist-info as pip writes it (METADATA and RECORD) under `site`."""
    info = site / f"transformer_lens-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: transformer-lens\nVersion: {version}\n")
    record = [f"{f},," for f in files] + [f"{info.name}/METADATA,,", f"{info.name}/RECORD,,"]
    (info / "RECORD").write_text("\n".join(record) + "\n")
    return info


UPSTREAM_FILES = ["transformer_lens/__init__.py", "transformer_lens/HookedTransformer.py"]


def stand_in_project() -> dict:
    import tomllib

    return tomllib.loads((REPO / "compat" / "transformer-lens" / "pyproject.toml").read_text())["project"]


def stand_in_version() -> str:
    return stand_in_project()["version"]


def test_no_transformer_lens_distribution_is_silent(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _install_check.warn_if_upstream_installed("ours", path=[str(tmp_path)]) is False


def test_the_stand_in_is_not_upstream(tmp_path):
    fake_distribution(tmp_path, stand_in_version(), [])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _install_check.warn_if_upstream_installed("ours", path=[str(tmp_path)]) is False


def test_upstream_gets_one_warning_naming_release_place_active_code_and_fix(tmp_path):
    fake_distribution(tmp_path / "a", stand_in_version(), [])
    fake_distribution(tmp_path / "b", "3.9.0", UPSTREAM_FILES)
    path = [str(tmp_path / "a"), str(tmp_path / "b")]
    with pytest.warns(UpstreamTransformerLensWarning) as record:
        assert _install_check.warn_if_upstream_installed("/where/ours/is", path=path) is True
    assert len(record) == 1
    message = str(record[0].message)
    assert "transformer-lens 3.9.0 in " + str(tmp_path / "b") in message
    assert "Active: LensLab's transformer_lens (/where/ours/is)" in message
    assert "pip uninstall -y transformer-lens" in message and "./compat/transformer-lens" in message
    assert "+lenslab" not in message  # the stand-in is not listed as upstream


def test_an_upstream_version_with_another_local_label_is_still_upstream(tmp_path):
    fake_distribution(tmp_path, "3.9.0+local", UPSTREAM_FILES)
    assert [d.version for d in _install_check.upstream_distributions([str(tmp_path)])] == ["3.9.0+local"]


def test_the_test_environment_has_no_upstream_transformer_lens():
    # pyproject turns our warnings into errors; this environment must never trigger the check.
    assert _install_check.upstream_distributions() == []


def test_stand_in_version_is_in_sae_lens_range_and_names_lenslab_release():
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    import transformer_lens

    version = Version(stand_in_version())
    assert version in SpecifierSet(">=2.16.1,<4")  # sae-lens 6.x's requirement
    assert version.local == f"lenslab.{transformer_lens.__version__}"
    assert f"lenslab=={transformer_lens.__version__}" in stand_in_project()["dependencies"]  # moves with lenslab


@pytest.mark.slow
def test_import_transformer_lens_warns_once_when_upstream_is_on_the_path(tmp_path):
    fake_distribution(tmp_path, "3.9.0", UPSTREAM_FILES)
    code = "import transformer_lens, lenslab"
    env = {"PYTHONPATH": f"{REPO / 'py_src'}:{tmp_path}", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("UpstreamTransformerLensWarning") == 1, run.stderr
    assert "ShadowedCoreWarning" not in run.stderr  # ours is the active one
