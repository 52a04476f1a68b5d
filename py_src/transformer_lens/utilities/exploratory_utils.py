"""Upstream's path for ``test_prompt`` (defined in ``transformer_lens.utils``)."""

from transformer_lens.utils import test_prompt

__all__ = ["test_prompt"]
