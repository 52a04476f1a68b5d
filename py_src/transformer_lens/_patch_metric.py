"""The patching metric: checking what it returns, and finding which logit positions it reads.

Most patching metrics read one position (``logits[:, -1, :]``). When the metric provably
indexes the logits at fixed positions only, the engine computes the unembedding (a third or
more of a sweep's work on GPT-2 small) at those positions only.

The proof comes from the one call the engine makes anyway, on the unpatched corrupted logits
(a real tensor: the metric never sees a stand-in). That call runs under a torch function mode
that follows every tensor derived from the logits. It is conservative: every direct use of
the logits must be an indexing with constant positions on the ``pos`` axis (or a shape
query); no derived value may reach Python (``.item()``, ``bool()``, ``.tolist()``,
``.numpy()``: the metric could branch on it and read other positions on another run); and
nothing derived may be written in place. Anything else (``logits.mean()``, a ``log_softmax``
over the whole tensor, data-dependent control flow) fails the proof and every position is
computed, as upstream does. The engine also re-checks the proof on its first patched run.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import torch
from torch.overrides import TorchFunctionMode

Metric = Callable[[torch.Tensor], torch.Tensor]

# Reads of the logits' metadata: the same for the full and the partial logits the metric gets.
_METADATA = {
    "shape", "size", "dim", "ndim", "ndimension", "numel", "nelement", "dtype", "device", "__len__",
    "is_floating_point", "requires_grad", "get_device", "is_cuda",
}
_IN_PLACE_DUNDERS = {
    "__setitem__", "__iadd__", "__isub__", "__imul__", "__itruediv__", "__ifloordiv__", "__imod__", "__ipow__",
    "__imatmul__", "__iand__", "__ior__", "__ixor__", "__ilshift__", "__irshift__",
}


def metric_value(metric: Metric, logits: torch.Tensor) -> torch.Tensor:
    """Call the metric and insist on a one-element tensor, as upstream's ``.item()`` does."""
    return _checked_value(metric(logits))


def _checked_value(value: Any) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise TypeError(
            f"patching_metric must return a scalar tensor, but it returned {type(value).__name__} {shown} "
            "(return a torch scalar, e.g. (logit_a - logit_b).mean())"
        )
    if value.numel() != 1:
        raise ValueError(
            f"patching_metric must return a scalar tensor, but it returned a tensor of shape {tuple(value.shape)} "
            "(reduce over the batch, e.g. with .mean())"
        )
    # A copy: a view would keep the whole logits tensor of its chunk alive.
    return value.detach().reshape(()).to(torch.float32, copy=True)


def observed_metric_value(metric: Metric, logits: torch.Tensor) -> tuple[torch.Tensor, Optional[list[int]]]:
    """``metric_value(metric, logits)`` plus the positions of ``logits[batch, pos, d_vocab]`` the
    metric provably reads (None when not proven)."""
    recorder = _ReadRecorder(logits)
    with recorder:
        value = metric(logits)
    positions = recorder.positions()
    return _checked_value(value), positions


class _ReadRecorder(TorchFunctionMode):
    """Follows the logits through one metric call: which positions are read, and whether the
    value could steer Python or be written in place (then nothing is proven)."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.root = logits
        self.n_pos = logits.shape[1] if logits.ndim >= 2 else 0
        # By id, holding each tensor so that its id cannot be reused while the metric runs.
        self.derived: dict[int, torch.Tensor] = {id(logits): logits}
        self.read: set[int] = set()
        self.proven = logits.ndim == 3

    def positions(self) -> Optional[list[int]]:
        read = sorted(self.read) if self.proven and self.read else None
        self.derived.clear()
        return read

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Optional[dict[str, Any]] = None) -> Any:
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        if self.proven:
            self._follow(func, args, kwargs, result)
        return result

    def _follow(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> None:
        inputs = _tensors((args, kwargs))
        if not any(id(t) in self.derived for t in inputs):
            return
        name = _name(func)
        if name in _METADATA:
            return
        if any(t is self.root for t in inputs) and not self._constant_read(name, args):
            self._give_up()
            return
        written = _written(name, args, kwargs)
        if written is not None:
            if id(written) in self.derived:  # a write into the logits or something derived from them
                self._give_up()
                return
            self.derived[id(written)] = written  # a buffer now holding derived values
        leaves = _leaves(result)
        if any(not isinstance(leaf, torch.Tensor) and leaf is not None for leaf in leaves):
            self._give_up()  # a value reaches Python, where the metric may branch on it
            return
        for leaf in leaves:
            if isinstance(leaf, torch.Tensor):
                self.derived[id(leaf)] = leaf

    def _constant_read(self, name: str, args: tuple[Any, ...]) -> bool:
        """Whether this use of the logits is ``logits[batch_part, positions, ...]`` with constant positions."""
        if name != "__getitem__" or len(args) != 2 or args[0] is not self.root:
            return False
        index = args[1]
        if not isinstance(index, tuple) or len(index) < 2 or any(i is Ellipsis or i is None for i in index[:2]):
            return False
        if isinstance(index[0], (list, torch.Tensor)) or _tensors(index):
            return False  # a fancy batch index would move the position axis; tensor indices are data
        selected = _selected_positions(index[1], self.n_pos)
        if selected is None:
            return False
        self.read.update(selected)
        return True

    def _give_up(self) -> None:
        self.proven = False
        self.derived.clear()


def _name(func: Any) -> str:
    name = getattr(func, "__name__", "")
    if name == "__get__":  # a property such as Tensor.shape
        return getattr(getattr(func, "__self__", None), "__name__", name)
    return name


def _written(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Optional[torch.Tensor]:
    """The tensor an in-place or ``out=`` call writes into, if any."""
    out = kwargs.get("out")
    if isinstance(out, torch.Tensor):
        return out
    if name in _IN_PLACE_DUNDERS or (name.endswith("_") and not name.endswith("__")):
        return args[0] if args and isinstance(args[0], torch.Tensor) else None
    return None


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in _leaves(item)]
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    return [value]


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _tensors(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors(item)]
    if isinstance(value, slice):
        return _tensors((value.start, value.stop, value.step))
    return []


def _selected_positions(index: Any, n_pos: int) -> Optional[list[int]]:
    if isinstance(index, bool):
        return None
    if isinstance(index, int):
        return [index % n_pos] if -n_pos <= index < n_pos else None
    if isinstance(index, slice):
        parts = (index.start, index.stop, index.step)
        if not all(p is None or (isinstance(p, int) and not isinstance(p, bool)) for p in parts):
            return None
        return list(range(n_pos))[index]
    if isinstance(index, (list, tuple)) and all(isinstance(i, int) and not isinstance(i, bool) for i in index):
        if all(-n_pos <= i < n_pos for i in index):
            return [i % n_pos for i in index]
    return None
