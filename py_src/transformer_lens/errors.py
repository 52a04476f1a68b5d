"""Exception types shared by the library.

LensLab reports a bad argument as a ``ValueError`` with a one-line reason. Where upstream
TransformerLens checks the same condition with ``assert``, code written against it (its own test
suite included) catches ``AssertionError``; :class:`CheckFailed` is both, so either works.
"""

from __future__ import annotations


class CheckFailed(ValueError, AssertionError):
    """A bad argument or state that upstream rejects with an ``assert``."""
