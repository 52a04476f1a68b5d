"""Registers the sidebar's comm target with the running kernel (``import lenslab`` does it).

The panel opens a comm to ``lenslab.sidebar``; each open comm gets a ``SidebarHandler``. All
handlers share one ``JobRunner``, so a job keeps running (and reporting to every open panel)
when the panel that started it goes away. Outside a Jupyter kernel nothing happens.
"""

from __future__ import annotations

import threading
from typing import Any, Optional

from lenslab._kernel import kernel_shell

_lock = threading.Lock()
_runner: Optional[Any] = None


def runner() -> Any:
    """The kernel's one ``JobRunner`` (created on first use)."""
    global _runner
    with _lock:
        if _runner is None:
            from lenslab.comm.jobs import JobRunner

            _runner = JobRunner()
        return _runner



def register_comm_target(ip: Any = None) -> bool:
    """Registers the comm target with this kernel; idempotent.

    Returns False, doing nothing, outside a Jupyter kernel.
    """
    shell = kernel_shell(ip)
    if shell is None:
        return False
    from comm import get_comm_manager

    from lenslab.comm.protocol import COMM_TARGET

    get_comm_manager().register_target(COMM_TARGET, _on_open)
    return True


def _on_open(comm: Any, open_msg: dict[str, Any]) -> None:
    from lenslab.comm.handler import SidebarHandler

    shell = kernel_shell()
    namespace = (lambda: shell.user_ns) if shell is not None else dict
    handler = SidebarHandler(send=comm.send, namespace=namespace, runner=runner())
    comm.on_msg(lambda msg: handler.handle(msg["content"]["data"]))
    comm.on_close(lambda msg: handler.close())
    first = open_msg.get("content", {}).get("data")
    if first:  # the panel's first request rides on comm_open
        handler.handle(first)
