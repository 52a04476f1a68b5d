"""Browser fixtures: JupyterLab on 127.0.0.1 and Debian's chromium driven by Python Playwright.

Nothing is downloaded: Playwright launches the system chromium (never `playwright install`).
Without chromium or playwright the e2e tests skip, unless LENSLAB_REQUIRE_E2E=1 (set by
scripts/test.sh in CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
from server_process import jupyter_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"


def _missing_or_fail(reason: str) -> None:
    if os.environ.get("LENSLAB_REQUIRE_E2E") == "1":
        pytest.fail(f"e2e prerequisites missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@dataclass
class Lab:
    url: str
    root: Path
    log: Path


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[Lab]:
    """A JupyterLab server with a throwaway config, settings and notebook folder."""
    log = artifacts / "jupyterlab.log"
    with jupyter_server("jupyterlab", tmp_path_factory.mktemp("lab"), log) as (url, root):
        yield Lab(url=url, root=root, log=log)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        _missing_or_fail(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing_or_fail("python playwright is not installed (pip install playwright)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
