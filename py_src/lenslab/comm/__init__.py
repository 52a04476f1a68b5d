"""The JupyterLab sidebar's kernel side: a comm target speaking a small, versioned JSON protocol.

``protocol`` defines and validates the messages, ``handler`` answers one panel, ``jobs`` runs
patch jobs on a worker thread, ``target`` registers the comm target (``import lenslab`` does).
See docs/protocol.md.
"""

from lenslab.comm.protocol import COMM_TARGET, PROTOCOL_VERSION
from lenslab.comm.target import register_comm_target

__all__ = ["COMM_TARGET", "PROTOCOL_VERSION", "register_comm_target"]
