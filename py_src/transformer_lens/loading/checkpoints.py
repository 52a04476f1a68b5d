"""Training-checkpoint labels of the model suites that publish them, and where each one lives.

As upstream: Pythia (hub revisions ``step{N}``; the ``-v0`` runs lack the log-spaced early
steps), stanford-crfm's GPT-2s (revisions ``checkpoint-{N}``), and NeelNanda's
TransformerLens-format models (files ``checkpoints/..._{N}.pth`` in the repo, labelled by step
or by tokens seen; see :mod:`transformer_lens.loading.tl_format`).
"""

from __future__ import annotations

import re
from typing import Iterable, Optional

PYTHIA_CHECKPOINTS: tuple[int, ...] = (0, *(2**i for i in range(10)), *range(1000, 143001, 1000))
PYTHIA_V0_CHECKPOINTS: tuple[int, ...] = tuple(range(1000, 143001, 1000))
STANFORD_CRFM_CHECKPOINTS: tuple[int, ...] = (
    *range(0, 100, 10),
    *range(100, 2000, 50),
    *range(2000, 20000, 100),
    *range(20000, 400001, 1000),
)
_NEEL_CHECKPOINT_FILE = re.compile(r"checkpoints/.*_(\d+)\.pth$")
# NeelNanda's checkpoints are labelled by tokens seen when the labels run into the billions.
_TOKEN_LABEL_THRESHOLD = 1e9


def neel_checkpoint_labels(repo_files: Iterable[str]) -> tuple[list[int], str]:
    """Labels of the ``checkpoints/*_{N}.pth`` files of a TransformerLens-format repo, and their type."""
    labels = sorted(int(m.group(1)) for f in repo_files if (m := _NEEL_CHECKPOINT_FILE.match(f)))
    if not labels:
        return [], "step"
    return labels, "token" if labels[-1] > _TOKEN_LABEL_THRESHOLD else "step"


def get_checkpoint_labels(official_name: str, repo_files: Optional[Iterable[str]] = None) -> tuple[list[int], str]:
    """The checkpoint labels of a model and their type ("step" or "token"), as upstream gives them.

    ``repo_files`` is the file list of a TransformerLens-format repo (NeelNanda's), whose labels
    are read from its file names.
    """
    if official_name.startswith("stanford-crfm/"):
        return list(STANFORD_CRFM_CHECKPOINTS), "step"
    if official_name.startswith("EleutherAI/pythia"):
        return list(PYTHIA_V0_CHECKPOINTS if "v0" in official_name else PYTHIA_CHECKPOINTS), "step"
    if official_name.startswith("NeelNanda/") and repo_files is not None:
        labels, label_type = neel_checkpoint_labels(repo_files)
        if labels:
            return labels, label_type
    raise ValueError(f"{official_name} has no published training checkpoints (checkpoint_index/checkpoint_value)")


def resolve_checkpoint(
    official_name: str,
    checkpoint_index: Optional[int],
    checkpoint_value: Optional[int],
    repo_files: Optional[Iterable[str]] = None,
) -> tuple[int, int, str]:
    """``(index, value, label_type)`` of the checkpoint chosen by index (negative counts from the end) or value."""
    labels, label_type = get_checkpoint_labels(official_name, repo_files)
    suite = "Pythia" if official_name.startswith("EleutherAI/pythia") else official_name
    return pick_checkpoint(labels, label_type, checkpoint_index, checkpoint_value, suite)


def pick_checkpoint(
    labels: list[int], label_type: str, checkpoint_index: Optional[int], checkpoint_value: Optional[int], suite: str
) -> tuple[int, int, str]:
    if checkpoint_index is not None:
        if not -len(labels) <= checkpoint_index < len(labels):
            raise ValueError(f"checkpoint_index must be in [0, {len(labels)}) for {suite}, got {checkpoint_index}")
        index = checkpoint_index % len(labels)
        return index, labels[index], label_type
    if checkpoint_value not in labels:
        raise ValueError(f"checkpoint_value {checkpoint_value} is not a {suite} checkpoint {label_type}")
    return labels.index(checkpoint_value), checkpoint_value, label_type


def checkpoint_revision(official_name: str, checkpoint_value: int) -> str:
    """The hub revision (branch) holding a checkpoint of a suite published as revisions."""
    if official_name.startswith("stanford-crfm/"):
        return f"checkpoint-{checkpoint_value}"
    if official_name.startswith("EleutherAI/pythia"):
        return f"step{checkpoint_value}"
    raise ValueError(f"{official_name} publishes its checkpoints as files, not hub revisions")
