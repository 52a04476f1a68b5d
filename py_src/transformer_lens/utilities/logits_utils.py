"""Working with next-token logits: sampling and a readable table of the top tokens."""

from __future__ import annotations

from typing import Any, Optional

import torch

from transformer_lens.generation import apply_repetition_penalty, sample_logits

__all__ = ["logits_to_df", "sample_logits"]

# Upstream's private name for the same function (its tests and some user code import it).
_apply_repetition_penalty = apply_repetition_penalty


def logits_to_df(logits: torch.Tensor, tokenizer: Optional[Any] = None, top_k: Optional[int] = None) -> Any:
    """A pandas DataFrame of one position's ``"d_vocab"`` logits, most probable first.

    Columns: ``token_index``, ``token_string`` (with a tokenizer), ``logit``, ``log_prob``, ``probability``;
    ``top_k`` keeps only the first k rows.
    """
    import pandas as pd

    if logits.ndim != 1:
        raise ValueError(f"logits_to_df needs one position's logits (shape [d_vocab]), got shape {tuple(logits.shape)}")
    log_probs = logits.float().log_softmax(dim=-1)
    order = log_probs.argsort(descending=True)[:top_k]
    table: dict[str, Any] = {"token_index": order.tolist()}
    if tokenizer is not None:
        table["token_string"] = [tokenizer.decode([index]) for index in table["token_index"]]
    table["logit"] = logits[order].detach().float().cpu().tolist()
    table["log_prob"] = log_probs[order].detach().cpu().tolist()
    table["probability"] = log_probs[order].exp().detach().cpu().tolist()
    return pd.DataFrame(table)
