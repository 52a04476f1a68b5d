"""Upstream's path for ``Slice`` (defined in ``transformer_lens.utils``)."""

from transformer_lens.utils import Slice, SliceInput

__all__ = ["Slice", "SliceInput"]
