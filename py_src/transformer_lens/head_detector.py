"""Finding attention heads of a known kind by comparing their patterns with an expected one.

A detection pattern is a ``"pos pos"`` lower-triangular matrix saying where a head of that kind
attends. ``detect_head`` runs the model, and scores every head's pattern against it:

- ``"mul"``: the fraction of the head's attention that falls where the detection pattern is 1;
- ``"abs"``: one minus the mean per-query absolute difference (1 = identical, -1 = opposite).

Named patterns: previous-token heads, duplicate-token heads and induction heads.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Literal, Optional, Union, get_args

import torch

from transformer_lens.hook_names import get_act_name
from transformer_lens.utils import is_lower_triangular, is_square

if TYPE_CHECKING:
    from transformer_lens.activation_cache import ActivationCache
    from transformer_lens.hooked_transformer import HookedTransformer

HeadName = Literal["previous_token_head", "duplicate_token_head", "induction_head"]
HEAD_NAMES: list[str] = list(get_args(HeadName))
ErrorMeasure = Literal["abs", "mul"]
LayerHeadTuple = tuple[int, int]
LayerToHead = dict[int, list[int]]


class HeadDetectorInputError(ValueError, AssertionError):
    """Bad input to the head detector (an AssertionError too, as upstream raises)."""


def get_previous_token_head_detection_pattern(tokens: torch.Tensor) -> torch.Tensor:
    """``"... pos" -> "pos pos"``: each position attends to the one before it."""
    n = tokens.shape[-1]
    return torch.diag(torch.ones(n - 1), diagonal=-1)


def get_duplicate_token_head_detection_pattern(tokens: torch.Tensor) -> torch.Tensor:
    """``"... pos" -> "pos pos"``: each position attends to earlier occurrences of its own token."""
    sequence = tokens.reshape(-1, tokens.shape[-1])[0].cpu()
    same_token = sequence[:, None].eq(sequence[None, :]).float()
    return torch.tril(same_token, diagonal=-1)


def get_induction_head_detection_pattern(tokens: torch.Tensor) -> torch.Tensor:
    """``"... pos" -> "pos pos"``: each position attends to the token after an earlier copy of itself."""
    duplicates = get_duplicate_token_head_detection_pattern(tokens)
    induction = torch.zeros_like(duplicates)
    induction[:, 1:] = duplicates[:, :-1]
    return torch.tril(induction)


_PATTERN_MAKERS = {
    "previous_token_head": get_previous_token_head_detection_pattern,
    "duplicate_token_head": get_duplicate_token_head_detection_pattern,
    "induction_head": get_induction_head_detection_pattern,
}


def get_supported_heads() -> None:
    """Print the names of the built-in detection patterns."""
    print(f"Supported heads: {HEAD_NAMES}")


def compute_head_attention_similarity_score(
    attention_pattern: torch.Tensor,
    detection_pattern: torch.Tensor,
    *,
    exclude_bos: bool,
    exclude_current_token: bool,
    error_measure: ErrorMeasure,
) -> float:
    """Score of one head's ``"query_pos key_pos"`` pattern against a detection pattern of the same shape.

    ``exclude_bos`` ignores attention to position 0, ``exclude_current_token`` attention to the query itself.
    """
    if not is_square(attention_pattern):
        raise HeadDetectorInputError(f"Attention pattern must be square, got shape {tuple(attention_pattern.shape)}")
    detection_pattern = detection_pattern.to(attention_pattern.device, attention_pattern.dtype)
    if error_measure == "mul":
        pattern = attention_pattern.clone()
        if exclude_bos:
            pattern[:, 0] = 0
        if exclude_current_token:
            pattern.fill_diagonal_(0)
        return ((pattern * detection_pattern).sum() / pattern.sum()).item()
    difference = (attention_pattern - detection_pattern).abs()
    if exclude_bos:
        difference[:, 0] = 0
    if exclude_current_token:
        difference.fill_diagonal_(0)
    # Sum over keys, mean over queries: each query row contributes at most 2.
    return 1 - round(difference.sum().item() / difference.shape[0], 3)


def _layer_to_heads(heads: Optional[Union[list[LayerHeadTuple], LayerToHead]], n_layers: int, n_heads: int) -> LayerToHead:
    if heads is None:
        return {layer: list(range(n_heads)) for layer in range(n_layers)}
    if isinstance(heads, dict):
        return heads
    grouped: LayerToHead = defaultdict(list)
    for layer, head in heads:
        grouped[layer].append(head)
    return grouped


def detect_head(
    model: "HookedTransformer",
    seq: Union[str, list[str]],
    detection_pattern: Union[torch.Tensor, HeadName],
    heads: Optional[Union[list[LayerHeadTuple], LayerToHead]] = None,
    cache: Optional["ActivationCache"] = None,
    *,
    exclude_bos: bool = False,
    exclude_current_token: bool = False,
    error_measure: ErrorMeasure = "mul",
) -> torch.Tensor:
    """``"n_layers n_heads"`` scores of how well each head's attention on ``seq`` matches ``detection_pattern``.

    ``detection_pattern`` is a ``"pos pos"`` lower-triangular tensor or one of ``HEAD_NAMES``; with a name,
    ``seq`` may be a list of prompts (scores are averaged). ``heads`` (``[(layer, head), ...]`` or
    ``{layer: [heads]}``) restricts the search; other heads score -1. ``cache``, from a run on ``seq``,
    saves running the model again.
    """
    if error_measure not in get_args(ErrorMeasure):
        raise HeadDetectorInputError(f"Invalid error_measure={error_measure!r}; valid values are {get_args(ErrorMeasure)}")
    if isinstance(detection_pattern, str):
        if detection_pattern not in _PATTERN_MAKERS:
            raise HeadDetectorInputError(f"detection_pattern must be a tensor or one of {HEAD_NAMES}; got {detection_pattern!r}")
        if isinstance(seq, list):
            if cache is not None:
                raise HeadDetectorInputError("cache cannot be given with a list of prompts: one cache holds one prompt's run")
            scores = [
                detect_head(model, prompt, detection_pattern, heads, exclude_bos=exclude_bos,
                            exclude_current_token=exclude_current_token, error_measure=error_measure)
                for prompt in seq
            ]  # fmt: skip
            return torch.stack(scores).mean(0)
    tokens = model.to_tokens(seq)
    if tokens.shape[0] != 1:
        raise HeadDetectorInputError("A detection pattern tensor needs a single prompt (seq must be one string)")
    seq_len = tokens.shape[-1]
    if not 1 < seq_len < model.cfg.n_ctx:
        raise HeadDetectorInputError(f"The prompt must have between 2 and n_ctx - 1 = {model.cfg.n_ctx - 1} tokens, got {seq_len}")
    if isinstance(detection_pattern, str):
        detection_pattern = _PATTERN_MAKERS[detection_pattern](tokens)
    if error_measure == "mul" and not set(detection_pattern.unique().tolist()) <= {0, 1}:
        logging.warning("A detection pattern with values other than 0 and 1 is hard to read with error_measure='mul'")
    if not (is_lower_triangular(detection_pattern) and detection_pattern.shape[0] == seq_len):
        raise HeadDetectorInputError(
            f"The detection pattern must be a lower triangular {seq_len} x {seq_len} matrix; got shape {tuple(detection_pattern.shape)}"
        )
    layer_to_heads = _layer_to_heads(heads, model.cfg.n_layers, model.cfg.n_heads)
    if cache is None:
        names = {get_act_name("pattern", layer) for layer in layer_to_heads}
        _, cache = model.run_with_cache(tokens, names_filter=lambda name: name in names)
    scores = -torch.ones(model.cfg.n_layers, model.cfg.n_heads, dtype=torch.float32)
    for layer, layer_heads in layer_to_heads.items():
        patterns = cache[get_act_name("pattern", layer)]
        patterns = patterns[0] if patterns.ndim == 4 else patterns  # cached with or without the batch dim
        for head in layer_heads:
            scores[layer, head] = compute_head_attention_similarity_score(
                patterns[head], detection_pattern, exclude_bos=exclude_bos,
                exclude_current_token=exclude_current_token, error_measure=error_measure,
            )  # fmt: skip
    return scores
