"""A throwaway Jupyter server (JupyterLab or Notebook 7) for the browser tests.

Each server gets its own config, settings, workspaces and notebook folder under ``tmp``, with
the announcements pop-up off and kernels started without the "Select Kernel" dialog, so a
test page sees exactly what a fresh user would.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=2) as r:
        return json.loads(r.read())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fresh_dirs(tmp: Path) -> tuple[Path, Path, Path]:
    root, cfg, settings = tmp / "notebooks", tmp / "config", tmp / "settings"
    root.mkdir()
    (cfg / "labconfig").mkdir(parents=True)
    (cfg / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    tracker = settings / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"autoStartDefaultKernel": True}))
    return root, cfg, settings


@contextlib.contextmanager
def jupyter_server(app: str, tmp: Path, log: Path, startup_s: float = 90) -> Iterator[tuple[str, Path]]:
    """Run ``python -m <app>`` ("jupyterlab" or "notebook") until the block ends.

    Yields the server's base URL and its notebook folder; the server's output goes to ``log``.
    """
    root, cfg, settings = _fresh_dirs(tmp)
    port = _free_port()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(cfg),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "ws"),
        "PYTHONUNBUFFERED": "1",
    }
    cmd = [
        sys.executable, "-m", app, "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
        f"--ServerApp.root_dir={root}",
    ]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{app} exited with {proc.returncode}; see {log}")
            try:
                get_json(f"{url}/api/status")
                break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{app} did not start within {startup_s:.0f} s; see {log}")
            time.sleep(0.5)
        yield url, root
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
