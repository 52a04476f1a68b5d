"""Whether two views of one storage have an element in common.

Two weights of a model must never share an element (an edit of one would show in the other), yet
disjoint views of one tensor (GPT-2's fused ``c_attn`` split into Q, K and V) may stay views: the
loader tells the two apart with this exact test.
"""

from __future__ import annotations

import torch


def _span(tensor: torch.Tensor) -> tuple[int, int]:
    """First and one-past-last element of ``tensor`` in its storage."""
    last = sum((int(size) - 1) * int(stride) for size, stride in zip(tensor.shape, tensor.stride()))
    first = int(tensor.storage_offset())
    return first, first + last + 1


def share_elements(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether two views of one storage have an element in common (exactly, also for interleaved views)."""
    (a_begin, a_end), (b_begin, b_end) = _span(a), _span(b)
    if a.element_size() != b.element_size():  # one storage seen as two dtypes: compare byte ranges
        return a_begin * a.element_size() < b_end * b.element_size() and b_begin * b.element_size() < a_end * a.element_size()
    if not (a_begin < b_end and b_begin < a_end):
        return False
    if a.numel() == a_end - a_begin and b.numel() == b_end - b_begin:
        return True  # both fill their spans with no gap, and the spans cross
    begin = min(a_begin, b_begin)
    marks = torch.zeros(max(a_end, b_end) - begin, dtype=torch.bool)
    marks.as_strided(a.shape, a.stride(), a_begin - begin).fill_(True)
    return bool(marks.as_strided(b.shape, b.stride(), b_begin - begin).any())
