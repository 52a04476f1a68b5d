"""The one definition of "the kernel's shell": the IPython shell of a running Jupyter kernel.

The rich displays (``display.py``) and the sidebar's comm target (``comm/target.py``) attach to
it; outside a kernel (plain Python, a terminal IPython) there is none and they do nothing.
"""

from __future__ import annotations

import sys
from typing import Any, Optional


def kernel_shell(ip: Any = None) -> Optional[Any]:
    """``ip`` (default: the running IPython) if it belongs to a Jupyter kernel, else None.

    IPython is looked up in ``sys.modules`` rather than imported: if nothing has imported it,
    no shell is running, and importing it would cost time for nothing.
    """
    if ip is None:
        ipython = sys.modules.get("IPython")
        get = getattr(ipython, "get_ipython", None)
        ip = get() if get is not None else None
    if ip is None or getattr(ip, "kernel", None) is None:  # a terminal IPython has no kernel
        return None
    return ip
