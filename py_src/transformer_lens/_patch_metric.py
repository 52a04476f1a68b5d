"""The patching metric: checking what it returns, and finding which logit positions it reads.

Most patching metrics read one position (``logits[:, -1, :]``). When tracing proves that the
metric only indexes the logits at fixed positions, the engine computes the unembedding (a third
or more of a sweep's work on GPT-2 small) at those positions only. The proof is conservative:
``torch.fx`` traces the metric symbolically, and every use of the logits must be an indexing with
constant positions on the ``pos`` axis and nothing may write in place. Anything else (data-
dependent control flow, ``logits.mean()``, a ``log_softmax`` over the whole tensor, ``.numpy()``)
fails the proof and every position is computed, as upstream does.
"""

from __future__ import annotations

import operator
import warnings
from typing import Any, Callable, Optional

import torch
import torch.fx

Metric = Callable[[torch.Tensor], torch.Tensor]

_IN_PLACE_OPERATORS = {
    operator.setitem, operator.iadd, operator.isub, operator.imul, operator.itruediv, operator.ifloordiv,
    operator.imod, operator.ipow, operator.imatmul, operator.iand, operator.ior, operator.ixor,
    operator.ilshift, operator.irshift,
}


def metric_value(metric: Metric, logits: torch.Tensor) -> torch.Tensor:
    """Call the metric and insist on a one-element tensor, as upstream's ``.item()`` does."""
    value = metric(logits)
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


def read_positions(metric: Metric, n_pos: int) -> Optional[list[int]]:
    """The positions of ``logits[batch, pos, d_vocab]`` the metric can read, or None if not proven."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            graph = _trace(metric)
    except Exception:  # any failure to trace means: no proof
        return None
    placeholders = [node for node in graph.nodes if node.op == "placeholder"]
    if len(placeholders) != 1 or any(_writes(node) for node in graph.nodes):
        return None
    positions: set[int] = set()
    for user in placeholders[0].users:
        if user.op != "call_function" or user.target is not operator.getitem:
            return None
        index = user.args[1]
        if not isinstance(index, tuple) or len(index) < 2 or any(i is Ellipsis or i is None for i in index[:2]):
            return None
        if isinstance(index[0], torch.fx.Node) or isinstance(index[0], (list, torch.Tensor)):
            return None  # a fancy batch index would move the position axis
        selected = _selected_positions(index[1], n_pos)
        if selected is None:
            return None
        positions.update(selected)
    return sorted(positions) if positions else None


def _trace(metric: Metric) -> torch.fx.Graph:
    """The metric's graph, recorded by calling it once on a ``torch.fx`` Proxy.

    Not ``torch.fx.symbolic_trace``: while it traces, it patches ``torch.nn.Module.__call__``
    for the whole process, which breaks forward passes running in other threads meanwhile.
    """
    tracer = torch.fx.Tracer()
    tracer.root = torch.nn.Module()  # holds tensor constants the metric closes over
    tracer.graph = torch.fx.Graph(tracer_cls=type(tracer))
    tracer.tensor_attrs = {}
    logits = tracer.create_proxy("placeholder", "logits", (), {})
    tracer.create_node("output", "output", (tracer.create_arg(metric(logits)),), {})
    return tracer.graph


def _writes(node: torch.fx.Node) -> bool:
    if node.op not in ("call_function", "call_method"):
        return False
    if "out" in node.kwargs or node.target in _IN_PLACE_OPERATORS:
        return True
    name = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
    return name.endswith("_") and not name.endswith("__")


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
