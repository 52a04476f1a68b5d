"""Is the importable ``transformer_lens`` LensLab's core, or upstream TransformerLens shadowing it?

When upstream's ``transformer-lens`` distribution is installed after LensLab (over its files), or
beside an editable LensLab (site-packages comes before the checkout on sys.path), ``import
transformer_lens`` runs upstream's code, and LensLab's own check in ``transformer_lens`` never runs.
``import lenslab`` notices instead, without importing the shadowing package.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Optional

# Only LensLab's transformer_lens/__init__.py runs this module of ours; upstream's __init__ never names it.
MARKER = "_install_check"
REPAIR = (
    "pip uninstall -y transformer-lens, then, from your LensLab checkout, "
    "pip install --force-reinstall --no-deps -e . ./compat/transformer-lens"
)


class ShadowedCoreWarning(UserWarning):
    """``transformer_lens`` resolves to upstream TransformerLens, not LensLab's core."""


def shadowing_core(spec_origin: Optional[str]) -> Optional[str]:
    """The path of the ``transformer_lens/__init__.py`` that is not LensLab's, or None when it is ours."""
    if spec_origin is None:
        return None  # not importable at all (a broken install): the import itself will say so
    init = Path(spec_origin)
    try:
        text = init.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return None if MARKER in text else str(init)


def warn_if_core_shadowed() -> bool:
    """Warn when ``transformer_lens`` is upstream's; True when it warned."""
    spec = importlib.util.find_spec("transformer_lens")
    foreign = shadowing_core(spec.origin if spec is not None else None)
    if foreign is None:
        return False
    warnings.warn(
        f"transformer_lens is upstream TransformerLens ({foreign}), not LensLab's core: the "
        f"transformer-lens distribution was installed over or ahead of LensLab, so models, widgets and the "
        f"sidebar run on upstream's code. To fix: {REPAIR}",
        ShadowedCoreWarning,
        stacklevel=2,
    )
    return True
