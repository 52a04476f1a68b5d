"""LensLab beyond one process, on Ray: activation harvesting to disk, patching sweeps over prompt pairs,
and top-activating examples from a harvest.

``pip install "lenslab[scale]"`` brings Ray. Nothing here imports Ray (or starts it) until a harvest or
sweep runs, so ``import lenslab.scale`` works without it; the core ``transformer_lens`` never imports
this package. With no ``address`` a local Ray starts in this process; ``address="ray://head:10001"``
runs the same call on a cluster (see docs/scaling.md).
"""

from __future__ import annotations

from lenslab.scale._harvest import harvest
from lenslab.scale._ray import shutdown
from lenslab.scale._store import HarvestStore, open_store
from lenslab.scale._top import Head, TopExamplesResult, top_examples
from lenslab.scale._sweep import SweepError, sweep, sweep_iter
from lenslab.scale.errors import HarvestError

__all__ = [
    "HarvestError", "HarvestStore", "Head", "SweepError", "TopExamplesResult",
    "harvest", "open_store", "shutdown", "sweep", "sweep_iter", "top_examples",
]
