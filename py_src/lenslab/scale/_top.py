"""``top_examples``: the contexts where one unit of a harvest fires most, plus the histogram of all its values.

A unit is a neuron (an int), a head (``Head(h)``: the norm of that head's vector at each position),
a residual direction (a 1-D tensor: the projection on it) or an SAE latent (an int with ``sae=``, a
sae-lens SAE: its encoder's activation). The store is read shard by shard; the unit's value at every
token is kept (4 bytes per token) for the histogram.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Union

import numpy as np
import torch

from lenslab.scale._store import HarvestStore, open_store
from lenslab.scale.errors import HarvestError


@dataclass(frozen=True)
class Head:
    """Attention head ``index`` of a per-head hook (``hook_z``, ``hook_q``, ``hook_result``, ...)."""

    index: int


Unit = Union[int, Head, torch.Tensor]


@dataclass
class TopExamplesResult:
    """The top-k contexts of one unit; ``show()`` displays them as a ``lenslab.TopExamples`` card."""

    hook: str
    unit: str  # e.g. "neuron 17", "head 3", "direction", "SAE latent 5"
    contexts: list[list[str]]  # token strings of each context
    values: list[list[float]]  # the unit's value at each context token (0.0 where positions were not harvested)
    scores: list[float]  # the unit's value at the top token, descending
    locations: list[tuple[int, int]]  # (sequence, position) of each top token in the store
    focus: list[int]  # index of the top token within its context
    hist_counts: list[int]  # histogram of the unit's value over every harvested token
    hist_edges: list[float]
    title: str = ""
    token_ids: list[list[int]] = field(default_factory=list)

    def show(self) -> Any:
        """The ``lenslab.TopExamples`` widget of these examples."""
        import lenslab

        return lenslab.TopExamples(
            contexts=self.contexts,
            values=self.values,
            scores=self.scores,
            hist_counts=self.hist_counts,
            hist_edges=self.hist_edges,
            title=self.title,
        )


def _unit_values(acts: torch.Tensor, unit: Unit, sae: Any, hook: str) -> torch.Tensor:
    """The unit's value ``[n_seqs, pos]`` from a shard's activations ``[n_seqs, pos, ...]``."""
    rest = tuple(acts.shape[2:])
    if sae is not None:
        d_in = int(sae.cfg.d_in)
        if rest != (d_in,):
            raise HarvestError(f"the SAE reads vectors of {d_in} but {hook} stores {rest}")
        if not 0 <= int(unit) < int(sae.cfg.d_sae):
            raise HarvestError(f"SAE latent {unit} is outside the SAE's {sae.cfg.d_sae} latents")
        with torch.no_grad():
            encoded = sae.encode(acts.reshape(-1, d_in).to(sae.dtype if hasattr(sae, "dtype") else torch.float32))
        return encoded[:, int(unit)].reshape(acts.shape[:2]).float()
    if isinstance(unit, Head):
        if len(rest) != 2 or not 0 <= unit.index < rest[0]:
            raise HarvestError(f"Head({unit.index}) needs a per-head hook [.., pos, head, d] with that head; {hook} stores {rest}")
        return acts[:, :, unit.index].float().norm(dim=-1)
    if isinstance(unit, torch.Tensor):
        if unit.ndim != 1 or rest != (unit.shape[0],):
            raise HarvestError(f"a direction of shape {tuple(unit.shape)} does not fit {hook}'s vectors {rest}")
        return acts.float() @ unit.float()
    if isinstance(unit, (int, np.integer)) and not isinstance(unit, bool):
        if len(rest) != 1 or not 0 <= int(unit) < rest[0]:
            raise HarvestError(f"neuron {unit} does not fit {hook}'s vectors {rest}")
        return acts[..., int(unit)].float()
    raise HarvestError(f"unit: expected a neuron index, Head(h), a direction tensor or (with sae=) a latent index; got {type(unit).__name__}")


def _describe(unit: Unit, sae: Any) -> str:
    if not isinstance(unit, (Head, torch.Tensor, int, np.integer)) or isinstance(unit, bool):
        raise HarvestError(f"unit: expected a neuron index, Head(h), a direction tensor or (with sae=) a latent index; got {type(unit).__name__}")
    if sae is not None:
        return f"SAE latent {int(unit)}"
    if isinstance(unit, Head):
        return f"head {unit.index}"
    if isinstance(unit, torch.Tensor):
        return "direction"
    return f"neuron {int(unit)}"


def _tokenizer_for(model_name: str) -> Any:
    from transformer_lens.loading_from_pretrained import _embedded

    embedded = _embedded(model_name)
    if embedded is not None:
        return embedded.load_tokenizer()
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_name)


def top_examples(
    store: Union[HarvestStore, str],
    hook: str,
    unit: Unit,
    k: int = 10,
    context: Union[int, tuple[int, int]] = (10, 4),
    *,
    sae: Any = None,
    tokenizer: Any = None,
    bins: int = 40,
) -> TopExamplesResult:
    """The ``k`` tokens where ``unit`` of ``hook`` is largest, each with ``context`` tokens around it.

    Args:
        store: A ``HarvestStore`` (or its directory).
        hook: A harvested hook with one row per position (``[n_seqs, pos, ...]``).
        unit: A neuron index, ``Head(h)``, a direction (1-D tensor), or with ``sae`` a latent index.
        context: Tokens before and after the top token (an int: that many before, none after).
        sae: A sae-lens SAE whose input is this hook's vectors (``sae.encode``).
        tokenizer: For the token strings (default: the harvested model's).
        bins: Histogram bins over all harvested tokens' values.
    """
    if not isinstance(store, HarvestStore):
        store = open_store(store)
    if hook not in store.plan.shapes:
        raise HarvestError(f"{hook!r} was not harvested; this store has {store.hooks}")
    if not isinstance(k, int) or k < 1:
        raise HarvestError(f"k must be a positive int, got {k!r}")
    before, after = (context, 0) if isinstance(context, int) else context
    description = _describe(unit, sae)
    chunks = []
    for _, _, acts, _ in store.iter_shards(hook):
        if acts.ndim < 2 or acts.shape[1] != len(store.positions):
            raise HarvestError(f"{hook} is not stored per position (shape {tuple(acts.shape)}); top_examples needs [n_seqs, pos, ...]")
        chunks.append(_unit_values(acts, unit, sae, hook))
    values = torch.cat(chunks)  # [n_seqs, kept positions]
    flat = values.reshape(-1)
    top = torch.topk(flat, min(k, flat.numel()))
    tokenizer = tokenizer or _tokenizer_for(store.model_name)
    kept = store.positions
    seq_len = store.seq_len
    contexts, per_token, scores, locations, focus, ids = [], [], [], [], [], []
    for score, index in zip(top.values.tolist(), top.indices.tolist()):
        row, column = divmod(index, values.shape[1])
        position = kept[column]
        lo, hi = max(0, position - before), min(seq_len, position + after + 1)
        token_ids = store.tokens(slice(row, row + 1))[0, lo:hi].tolist()
        by_position = dict(zip(kept, values[row].tolist()))
        contexts.append([tokenizer.decode([t]) for t in token_ids])
        per_token.append([by_position.get(p, 0.0) for p in range(lo, hi)])
        scores.append(score)
        locations.append((row, position))
        focus.append(position - lo)
        ids.append(token_ids)
    counts, edges = np.histogram(flat.numpy(), bins=bins)
    return TopExamplesResult(
        hook=hook,
        unit=description,
        contexts=contexts,
        values=per_token,
        scores=scores,
        locations=locations,
        focus=focus,
        hist_counts=[int(c) for c in counts],
        hist_edges=[float(e) for e in edges],
        title=f"{store.model_name} {hook} {description}: top {len(scores)} of {flat.numel():,} tokens",
        token_ids=ids,
    )
