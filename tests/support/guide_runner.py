"""Run a user-guide code block as the guide shows it, and read what it printed."""

from __future__ import annotations

import linecache
import textwrap


def run_guide_block(source: str, name: str, given: dict | None = None) -> dict:
    """Exec source as a script in a fresh namespace and return that namespace.

    given pre-fills the namespace, for the guide's short snippets that assume earlier state
    (a loaded `model`, `input_ids`).

    source is the block's text as stored in the test file: one leading newline (from the
    opening quotes) is dropped and a common indent (the guide's list-item snippets) removed,
    nothing else. The blocks use `global` inside hook functions, which binds to this namespace,
    as it would to a script's module globals. Registering the text with linecache makes
    tracebacks show the guide's lines.
    """
    code = textwrap.dedent(source.removeprefix("\n"))
    filename = f"<guide:{name}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
    namespace: dict = {"__name__": "__main__", "__file__": filename, **(given or {})}
    exec(compile(code, filename, "exec"), namespace)  # noqa: S102 - the point of the test
    return namespace


def assert_no_error_printed(out: str) -> None:
    """The guide wraps some blocks in `try/except Exception: print("Error ...")`; fail on that."""
    errors = [line for line in out.splitlines() if line.lstrip().startswith("Error")]
    assert not errors, "the guide block caught an exception:\n" + "\n".join(errors) + "\n--- full output ---\n" + out
