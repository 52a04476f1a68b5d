"""The documented sae-lens install, in a fresh virtual environment: sae-lens runs on LensLab, no upstream file.

One command after torch: ``pip install -e ".[sae]"``. The ``sae`` extra names LensLab's stand-in
``transformer-lens`` distribution (compat/transformer-lens: no files, depends on lenslab) by local path,
so pip counts sae-lens's ``transformer-lens>=2.16.1,<4`` as met without fetching upstream.
Then upstream is forced in anyway (as ``pip install transformer-lens`` would), ``import lenslab`` must say
so, and the repair its warning gives must bring back a clean environment.

Needs the package registry (PyPI) and a few minutes; pip's cache makes reruns quicker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

# What a fresh environment reports about itself: where transformer_lens comes from, every transformer-lens
# distribution with its files, any transformer_lens folder in site-packages, and our warnings on import.
INSPECT = r"""
import json, sysconfig, warnings
from importlib import metadata
from pathlib import Path
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import lenslab, transformer_lens
site = Path(sysconfig.get_paths()["purelib"])
print(json.dumps({
    "transformer_lens": transformer_lens.__file__,
    "lenslab": lenslab.__file__,
    "distributions": [
        {"version": d.version, "files": [str(f) for f in (d.files or [])]}
        for d in metadata.distributions(name="transformer-lens")
    ],
    "site_packages_transformer_lens": (site / "transformer_lens").exists(),
    "warnings": [type(w.message).__name__ for w in caught
                 if type(w.message).__name__ in ("UpstreamTransformerLensWarning", "ShadowedCoreWarning")],
}))
"""

SMOKE = r"""
import torch
from sae_lens import HookedSAETransformer, StandardSAE, StandardSAEConfig
from sae_lens.saes.sae import SAEMetadata
model = HookedSAETransformer.from_pretrained("lenslab/gelu-2l")
torch.manual_seed(0)
sae = StandardSAE(StandardSAEConfig(d_in=model.cfg.d_model, d_sae=32, dtype="float32", device="cpu",
                                    metadata=SAEMetadata(hook_name="blocks.1.hook_resid_pre", model_name="lenslab/gelu-2l")))
tokens = model.to_tokens("LensLab runs sae-lens")
with torch.no_grad():
    clean = model(tokens)
    kept = model.run_with_saes(tokens, saes=[sae], use_error_term=True)
print(float((kept - clean).abs().max()))
"""


class FreshVenv:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.python = root / "bin" / "python"
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
        env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", OMP_NUM_THREADS="1",
                   HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
                   # The editable install would rebuild the widgets and the sidebar in this checkout (where
                   # node is present); this test is about the Python packages, so leave the checkout alone.
                   SKIP_JUPYTER_BUILDER="1")
        self.env = env

    def run(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        done = subprocess.run(list(args), cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done

    def pip(self, *args: str) -> subprocess.CompletedProcess:
        return self.run(str(self.python), "-m", "pip", *args)

    def inspect(self) -> dict:
        return json.loads(self.run(str(self.python), "-c", INSPECT).stdout.strip().splitlines()[-1])


def assert_clean(state: dict) -> None:
    """LensLab's transformer_lens is the one imported, the only transformer-lens is the stand-in, no upstream file."""
    assert state["transformer_lens"] == str(REPO / "py_src" / "transformer_lens" / "__init__.py")
    assert state["lenslab"] == str(REPO / "py_src" / "lenslab" / "__init__.py")
    assert [d["version"] for d in state["distributions"]] == ["3.9.0+lenslab.0.1.0"]
    assert all(".dist-info/" in f for f in state["distributions"][0]["files"]), state["distributions"][0]["files"]
    assert not state["site_packages_transformer_lens"]
    assert state["warnings"] == []


def test_one_command_installs_sae_lens_on_lenslab_and_upstream_is_caught(tmp_path):
    venv = FreshVenv(tmp_path / "venv")
    venv.run(sys.executable, "-m", "venv", str(venv.root))
    venv.pip("install", "-q", "torch==2.13.0")  # first and pinned, as scripts/setup.sh: no CUDA build
    venv.pip("install", "-q", "-e", ".[sae]")  # the documented command

    assert_clean(venv.inspect())
    venv.pip("check")
    listed = venv.pip("list", "--format=json").stdout
    versions = {p["name"].lower(): p["version"] for p in json.loads(listed)}
    assert versions["torch"].startswith("2.13.0") and versions["sae-lens"].startswith("6.")
    kept = float(venv.run(str(venv.python), "-c", SMOKE).stdout.strip().splitlines()[-1])
    assert kept < 1e-4  # with the error term the SAE leaves the logits as they were

    # The stand-in even meets an explicit request for upstream's release: pip changes nothing.
    asked = venv.pip("install", "--no-deps", "transformer-lens==3.9.0")
    assert "Requirement already satisfied: transformer-lens==3.9.0" in asked.stdout and "3.9.0+lenslab" in asked.stdout

    # Upstream forced in: it replaces the stand-in and, site-packages being ahead of the editable
    # checkout on sys.path, shadows LensLab's package. import lenslab says so, once.
    venv.pip("install", "-q", "--force-reinstall", "--no-deps", "transformer-lens==3.9.0")
    shadowed = venv.run(str(venv.python), "-c", "import lenslab")
    assert shadowed.stderr.count("ShadowedCoreWarning") == 1, shadowed.stderr
    assert "site-packages/transformer_lens/__init__.py" in shadowed.stderr

    # The repair the warning gives.
    venv.pip("uninstall", "-y", "transformer-lens")
    venv.pip("install", "-q", "--force-reinstall", "--no-deps", "-e", ".", "./compat/transformer-lens")
    assert_clean(venv.inspect())
