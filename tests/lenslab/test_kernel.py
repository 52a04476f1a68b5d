"""lenslab._kernel.kernel_shell: the one test of "are we inside a Jupyter kernel"."""

from __future__ import annotations

import sys
import types

from lenslab._kernel import kernel_shell


class _Shell:
    def __init__(self, kernel):
        self.kernel = kernel


def test_a_shell_with_a_kernel_is_the_kernel_shell():
    shell = _Shell(kernel=object())
    assert kernel_shell(shell) is shell


def test_a_terminal_shell_has_no_kernel():
    assert kernel_shell(_Shell(kernel=None)) is None


def test_the_running_ipython_is_looked_up_without_importing_it(monkeypatch):
    shell = _Shell(kernel=object())
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: shell
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert kernel_shell() is shell
    fake.get_ipython = lambda: None
    assert kernel_shell() is None
    monkeypatch.delitem(sys.modules, "IPython")
    assert kernel_shell() is None
