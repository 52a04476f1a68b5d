"""Upstream 3.x's ``transformer_lens.HookedRootModule`` module path (the class lives in ``hook_points``)."""

from transformer_lens.hook_points import HookedRootModule

__all__ = ["HookedRootModule"]
