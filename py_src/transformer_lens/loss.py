"""Next-token cross-entropy loss shared by forward, utils and training."""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch


def lm_cross_entropy_loss(
    logits: torch.Tensor,
    tokens: torch.Tensor,
    attention_mask: Optional[torch.Tensor] = None,
    per_token: bool = False,
) -> torch.Tensor:
    """Loss of predicting ``tokens[:, 1:]`` from ``logits[:, :-1]`` (``"batch pos d_vocab"``, ``"batch pos"``).

    Returns the mean over real (unmasked) targets, or ``"batch pos-1"`` with ``per_token``.
    """
    tokens = tokens.to(logits.device)
    log_probs = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    target_log_probs = log_probs.gather(dim=-1, index=tokens[:, 1:, None])[..., 0]
    if attention_mask is None:
        return -target_log_probs if per_token else -target_log_probs.mean()
    # A target counts when both it and the position predicting it are real tokens.
    valid = (attention_mask[:, 1:] * attention_mask[:, :-1]).to(log_probs.dtype).to(logits.device)
    if per_token:
        return -target_log_probs * valid
    return -(target_log_probs * valid).sum() / valid.sum().clamp(min=1)


# Upstream's names for what ``forward`` returns (``transformer_lens.HookedTransformer.Loss`` / ``Output``).
Loss = torch.Tensor
"""A loss: a scalar (mean over targets) or ``"batch pos-1"`` (``per_token=True``)."""


class Output(NamedTuple):
    """``forward(..., return_type="both")`` as a named pair: ``"batch pos d_vocab"`` logits and the loss."""

    logits: torch.Tensor
    loss: Loss
