"""The JupyterLab sidebar's kernel side: a comm target speaking a small, versioned JSON protocol.

``protocol`` defines and validates the messages, ``handler`` answers one panel, ``jobs`` runs
patch jobs on a worker thread, ``target`` registers the comm target (``import lenslab`` does).
See docs/protocol.md. Importing this package outside a kernel loads nothing else.
"""

from __future__ import annotations

from typing import Any

from lenslab.comm.target import register_comm_target

__all__ = ["COMM_TARGET", "PROTOCOL_VERSION", "register_comm_target"]


def __getattr__(name: str) -> Any:
    if name in ("COMM_TARGET", "PROTOCOL_VERSION"):
        from lenslab.comm import protocol

        return getattr(protocol, name)
    raise AttributeError(f"module 'lenslab.comm' has no attribute {name!r}")
