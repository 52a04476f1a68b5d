"""Upstream 3.x's ``transformer_lens.tools.analysis``: single-call circuit analyses.

Provided: ``direct_path_patching``. Upstream's other analyses (direct logit attribution, attribution
patching, ...) raise NotImplementedError naming what LensLab offers instead.
"""

from __future__ import annotations

from typing import Any

from transformer_lens._not_provided import not_provided

__all__ = ["direct_path_patching"]

_INSTEAD = {
    "direct_logit_attribution": "use ActivationCache.logit_attrs / decompose_resid / stack_head_results",
    "attribution_patching": "use transformer_lens.patching (activation patching) or gradients via run_with_hooks",
    "backward_lens": "compute gradients with run_with_hooks (backward hooks) instead",
    "jacobian_lens": "not provided",
    "projection_kernel": "not provided",
    "svd_circuits": "use transformer_lens.SVDInterpreter or FactoredMatrix.svd()",
}


def __getattr__(name: str) -> Any:
    if name == "direct_path_patching":
        import importlib

        return importlib.import_module(f"{__name__}.direct_path_patching")
    if name in _INSTEAD:
        raise not_provided(f"transformer_lens.tools.analysis.{name}", _INSTEAD[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
