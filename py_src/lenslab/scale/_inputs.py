"""Token inputs of a harvest: a token tensor, a ``datasets.Dataset`` of token ids, or .npy/.pt files."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Sequence, Union

import numpy as np
import torch

from lenslab.scale.errors import HarvestError

TOKEN_COLUMNS = ("input_ids", "tokens")


def _as_2d(array: Any, where: str) -> np.ndarray:
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    array = np.asarray(array)
    if array.ndim != 2:
        raise HarvestError(f"{where}: token ids must be 2-D [n_seqs, seq_len], got shape {tuple(array.shape)}")
    if not np.issubdtype(array.dtype, np.integer):
        raise HarvestError(f"{where}: token ids must be integers, got {array.dtype}")
    return array


def _from_dataset(dataset: Any, column: Union[str, None]) -> np.ndarray:
    names = list(dataset.column_names)
    name = column or next((c for c in TOKEN_COLUMNS if c in names), None)
    if name is None or name not in names:
        raise HarvestError(f"the dataset has no token column ({column or ' or '.join(TOKEN_COLUMNS)}); its columns: {names}")
    rows = dataset.with_format("numpy")[name]
    try:
        return _as_2d(np.stack(list(rows)) if isinstance(rows, list) else rows, f"dataset column {name!r}")
    except ValueError as err:  # rows of different lengths
        raise HarvestError(f"dataset column {name!r}: every row must have the same length ({err})") from None


def _from_file(path: Path) -> np.ndarray:
    if not path.is_file():
        raise HarvestError(f"token file {path} does not exist")
    if path.suffix == ".npy":
        return _as_2d(np.load(path, mmap_mode="r"), str(path))
    if path.suffix == ".pt":
        return _as_2d(torch.load(path, map_location="cpu", weights_only=True), str(path))
    raise HarvestError(f"token file {path}: expected .npy or .pt")


def load_tokens(source: Any, column: Union[str, None] = None) -> np.ndarray:
    """All token ids as one int64 array ``[n_seqs, seq_len]`` (files are concatenated along the rows)."""
    if isinstance(source, (str, Path)):
        source = [source]
    if isinstance(source, (torch.Tensor, np.ndarray)):
        tokens = _as_2d(source, "tokens")
    elif hasattr(source, "column_names") and hasattr(source, "with_format"):
        tokens = _from_dataset(source, column)
    elif isinstance(source, Sequence) and source and all(isinstance(p, (str, Path)) for p in source):
        parts = [_from_file(Path(p)) for p in source]
        lengths = {part.shape[1] for part in parts}
        if len(lengths) > 1:
            raise HarvestError(f"token files have different sequence lengths: {sorted(lengths)}")
        tokens = np.concatenate(parts, axis=0)
    else:
        raise HarvestError(
            f"tokens_or_dataset: expected a 2-D token tensor, a datasets.Dataset of token ids or .npy/.pt paths, got {type(source).__name__}"
        )
    if tokens.shape[0] == 0 or tokens.shape[1] == 0:
        raise HarvestError(f"no tokens to harvest (shape {tuple(tokens.shape)})")
    return np.ascontiguousarray(tokens, dtype=np.int64)


def tokens_sha256(tokens: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(tokens, dtype=np.int64).tobytes()).hexdigest()
