"""Attribution patching: a first-order estimate of every patched run from one backward pass.

For a patch that replaces a slice of activation ``a`` by the clean value, the metric moves by
about ``sum((patched_a - corrupted_a) * d metric / d a)``, with the gradient taken once on the
corrupted run. One corrupted forward and backward pass (the clean run is the cache the caller
passes) thus estimates a whole grid: cheap enough for every neuron or pattern entry, but an
approximation, exact only where the metric is linear in the patched activation.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable, Optional, Sequence

import torch

from transformer_lens._patch_metric import metric_value

Metric = Callable[[torch.Tensor], torch.Tensor]


def attribution_estimates(
    model: Any, tokens: torch.Tensor, clean: dict[str, torch.Tensor], metric: Metric, runs: Sequence[Any]
) -> torch.Tensor:
    """First-order estimate of each patched run's metric.

    metric(patched) ~= metric(corrupted) + sum((patched_act - corrupted_act) * d metric / d act),
    with the gradient taken once, on the corrupted run. Exact when the metric is linear in the
    patched activation (e.g. a logit difference and an activation that reaches the logits
    through linear maps only); otherwise an approximation, good for small clean/corrupted gaps.
    """
    from transformer_lens._patch_engine import apply_setter  # the engine imports this module

    names = sorted(clean)
    acts: dict[str, torch.Tensor] = {}

    def keep(act: torch.Tensor, hook: Any) -> Optional[torch.Tensor]:
        # With frozen weights nothing upstream needs grad: make the activation a leaf so it does.
        replaced = None if act.requires_grad else act.detach().requires_grad_(True)
        acts[hook.name] = act if replaced is None else replaced
        return replaced

    with torch.enable_grad(), model.hooks(fwd_hooks=[(name, keep) for name in names]):
        logits = model(tokens)
        value = metric(logits)
    base = metric_value(lambda _: value, logits)  # the same checks as the exact path
    if not value.requires_grad:
        raise ValueError(
            "approx=True needs the metric's gradient, but patching_metric's result does not depend on the logits "
            "through autograd (does it call .item(), .detach() or run under torch.no_grad()?)"
        )
    grads = torch.autograd.grad(value.reshape(()), [acts[n] for n in names], allow_unused=True)
    grad_of = {n: torch.zeros_like(acts[n]) if g is None else g.detach() for n, g in zip(names, grads)}
    corrupted = {n: acts[n].detach() for n in names}
    estimates = torch.empty(len(runs), dtype=torch.float32, device=tokens.device)
    generic: list[int] = []
    groups: dict[tuple[str, Any], list[int]] = defaultdict(list)
    for i, run in enumerate(runs):
        if run.traits is not None:
            groups[(run.hook_name, run.traits)].append(i)
        else:
            generic.append(i)
    with torch.no_grad():
        for (name, traits), members in groups.items():
            keep_dims = traits.kept_dims
            contribution = (clean[name] - corrupted[name]) * grad_of[name]
            summed = contribution.sum(dim=[d for d in range(contribution.ndim) if d not in keep_dims])
            index = torch.tensor([runs[i].index[1:] for i in members], dtype=torch.long, device=summed.device)
            estimates[members] = summed[tuple(index.T)].float()
        for i in generic:
            run = runs[i]
            before = corrupted[run.hook_name]
            after = apply_setter(run, before.clone(), list(run.index), clean[run.hook_name])
            estimates[i] = ((after - before) * grad_of[run.hook_name]).sum().float()
    return estimates + base
