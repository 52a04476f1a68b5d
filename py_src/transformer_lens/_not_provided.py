"""The error for upstream TransformerLens names that LensLab deliberately does not provide.

A plain ``NotImplementedError`` (not an ``AttributeError``): ``from transformer_lens import X`` would turn an
AttributeError into a bare "cannot import name", losing the message that says what to use instead.
Only the known upstream names raise it; any other missing name is an ordinary AttributeError.
"""

from __future__ import annotations


class NotProvidedError(NotImplementedError):
    """An upstream TransformerLens API that LensLab does not implement."""


def not_provided(qualified_name: str, instead: str) -> NotProvidedError:
    """The error for ``qualified_name`` (e.g. ``"transformer_lens.HookedAudioEncoder"``), saying what to use."""
    return NotProvidedError(f"{qualified_name} is not provided by LensLab: {instead}")
