"""Is upstream TransformerLens installed beside LensLab's ``transformer_lens``?

Both LensLab (the ``lenslab`` distribution) and upstream TransformerLens (the ``transformer-lens``
distribution) install a top-level ``transformer_lens`` package. LensLab's stand-in distribution
(``compat/transformer-lens`` in the repository: also named ``transformer-lens``, no files, version
``<upstream API>+lenslab.<lenslab version>``) keeps pip from installing upstream for libraries that
depend on it, such as sae-lens. Any other ``transformer-lens`` distribution is upstream's, and its
files share a folder with ours or shadow it; ``import transformer_lens`` then says so, once.

Standard library only, and cheap: it runs on every ``import transformer_lens``.
"""

from __future__ import annotations

import os
import warnings
from importlib import metadata
from typing import Iterable, Optional, Sequence

DISTRIBUTION = "transformer-lens"
STAND_IN_LABEL = "lenslab"
# From a LensLab checkout: upstream out, then LensLab and its stand-in back (uninstalling upstream
# deletes every file its record lists, ours among them where both were written to one folder).
REPAIR = (
    "pip uninstall -y transformer-lens, then, from your LensLab checkout, "
    "pip install --force-reinstall --no-deps -e . ./compat/transformer-lens"
)


class UpstreamTransformerLensWarning(UserWarning):
    """Upstream TransformerLens is installed in the same environment as LensLab."""


def is_stand_in(dist: metadata.Distribution) -> bool:
    """LensLab's own ``transformer-lens`` distribution: its version's local label is ``lenslab...``."""
    _, _, local = (dist.version or "").partition("+")
    return local.split(".")[0] == STAND_IN_LABEL


def upstream_distributions(path: Optional[Sequence[str]] = None) -> list[metadata.Distribution]:
    """Every ``transformer-lens`` distribution on `path` (default sys.path) that is not LensLab's stand-in."""
    kwargs = {"name": DISTRIBUTION} if path is None else {"name": DISTRIBUTION, "path": list(path)}
    seen: set[str] = set()
    found = []
    for dist in metadata.distributions(**kwargs):
        where = os.path.realpath(str(dist.locate_file("")))
        key = f"{where}:{dist.version}"
        if key in seen or is_stand_in(dist):
            continue
        seen.add(key)
        found.append(dist)
    return found


def warning_text(upstream: Iterable[metadata.Distribution], active: str) -> str:
    """One message: which upstream release is where, which implementation is active, and the fix."""
    where = "; ".join(f"{d.version} in {d.locate_file('')}" for d in upstream)
    return (
        f"upstream TransformerLens (transformer-lens {where}) is installed beside LensLab, and both "
        f"write the `transformer_lens` package. Active: LensLab's transformer_lens ({active}), possibly "
        f"with upstream's files mixed into it. Libraries that need transformer-lens (sae-lens) run on "
        f"LensLab without it. To fix: {REPAIR}"
    )


def warn_if_upstream_installed(active: str, path: Optional[Sequence[str]] = None) -> bool:
    """Warn once (per call) when upstream's distribution is present; True when it warned."""
    upstream = upstream_distributions(path)
    if not upstream:
        return False
    warnings.warn(warning_text(upstream, active), UpstreamTransformerLensWarning, stacklevel=2)
    return True
