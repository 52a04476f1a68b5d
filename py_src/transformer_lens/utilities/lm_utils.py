"""Upstream's path for the language-modelling metrics (defined in ``loss`` and ``utils``)."""

from transformer_lens.loss import lm_cross_entropy_loss
from transformer_lens.utils import lm_accuracy

__all__ = ["lm_accuracy", "lm_cross_entropy_loss"]
