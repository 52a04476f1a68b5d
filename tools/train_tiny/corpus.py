"""Offline training corpus: the Python standard library's own source files.

Every machine that runs Python has this text, so the embedded models can be
reproduced (and evaluated) with no network. Files are listed in sorted order of
their path relative to the stdlib root, and split into train / held-out by a
hash of that relative path, so the split is stable across machines and Python
versions (a file that exists in both versions lands on the same side).
"""

from __future__ import annotations

import hashlib
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

Split = Literal["train", "heldout", "all"]

# Directory names skipped anywhere under the stdlib root. Tests are excluded by
# the issue; `encodings` holds generated charmap tables, not natural code.
EXCLUDED_DIRS = frozenset(
    {"site-packages", "dist-packages", "__pycache__", "test", "tests", "idle_test", "encodings"}
)
HELDOUT_PERCENT = 5
"""Share of files (by path hash) held out for evaluation."""


def stdlib_root() -> Path:
    """Return the directory holding the running interpreter's standard library."""
    return Path(sysconfig.get_paths()["stdlib"])


def _is_heldout(relative_path: str) -> bool:
    digest = hashlib.sha256(relative_path.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < HELDOUT_PERCENT


def corpus_files(split: Split = "all", root: Path | None = None) -> list[Path]:
    """List the corpus's ``*.py`` files in a deterministic order.

    Args:
        split: "train", "heldout" (about ``HELDOUT_PERCENT`` % of files) or "all".
        root: the stdlib directory; defaults to :func:`stdlib_root`.

    Returns:
        Absolute paths, sorted by their POSIX path relative to ``root``.
    """
    root = root if root is not None else stdlib_root()
    picked: list[tuple[str, Path]] = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        if any(part in EXCLUDED_DIRS for part in rel.parts[:-1]):
            continue
        if not path.is_file():
            continue
        key = rel.as_posix()
        if split == "all" or (split == "heldout") == _is_heldout(key):
            picked.append((key, path))
    picked.sort(key=lambda item: item[0])
    return [path for _, path in picked]


def read_texts(files: list[Path]) -> Iterator[str]:
    """Yield each file's text (UTF-8, undecodable bytes replaced)."""
    for path in files:
        yield path.read_text(encoding="utf-8", errors="replace")
