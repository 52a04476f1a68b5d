"""The error a harvest or sweep reports bad input or a failed run with (one line, no traceback needed)."""


class HarvestError(RuntimeError):
    """A harvest that cannot start (bad arguments, a foreign output directory) or that stopped (disk full)."""
