"""Upstream's ``transformer_lens.lit``: the constants and helpers of its LIT integration.

The LIT model and dataset wrappers (``HookedTransformerLIT``, ``serve``, ``LITWidget``, ...) need lit-nlp and
are not provided by LensLab: using them raises NotImplementedError (LensLab's Jupyter widgets cover the views).
"""

from __future__ import annotations

from typing import Any

from transformer_lens._not_provided import not_provided
from transformer_lens.lit.constants import DEFAULTS, ERRORS, HOOK_POINTS, INPUT_FIELDS, OUTPUT_FIELDS, SERVER_CONFIG
from transformer_lens.lit.utils import check_lit_installed

_INSTEAD = "the LIT integration is not provided; LensLab's Jupyter widgets (lenslab) show attention, caches and patching"


def _left_out(name: str) -> Any:
    """A stand-in for a LIT-dependent class or function: calling it says it is not provided."""

    def left_out(*args: Any, **kwargs: Any) -> Any:
        raise not_provided(f"transformer_lens.lit.{name}", _INSTEAD)

    left_out.__name__ = left_out.__qualname__ = name
    return left_out


HookedTransformerLIT = _left_out("HookedTransformerLIT")
HookedTransformerLITBatched = _left_out("HookedTransformerLITBatched")
HookedTransformerLITConfig = _left_out("HookedTransformerLITConfig")
SimpleTextDataset = _left_out("SimpleTextDataset")
PromptCompletionDataset = _left_out("PromptCompletionDataset")
IOIDataset = _left_out("IOIDataset")
InductionDataset = _left_out("InductionDataset")
serve = _left_out("serve")
LITWidget = _left_out("LITWidget")

__all__ = [
    "DEFAULTS",
    "ERRORS",
    "HOOK_POINTS",
    "INPUT_FIELDS",
    "OUTPUT_FIELDS",
    "SERVER_CONFIG",
    "HookedTransformerLIT",
    "HookedTransformerLITBatched",
    "HookedTransformerLITConfig",
    "IOIDataset",
    "InductionDataset",
    "LITWidget",
    "PromptCompletionDataset",
    "SimpleTextDataset",
    "check_lit_installed",
    "serve",
]
