"""The LensLab anywidgets. Front ends: ``js/src/<widget>/`` built into ``lenslab/static/``."""

from lenslab.widgets.attention import AttentionPatterns
from lenslab.widgets.cache_explorer import CacheExplorer
from lenslab.widgets.colored_tokens import ColoredTokens
from lenslab.widgets.patching_grid import PatchingGrid
from lenslab.widgets.top_examples import TopExamples

__all__ = ["AttentionPatterns", "CacheExplorer", "ColoredTokens", "PatchingGrid", "TopExamples"]
