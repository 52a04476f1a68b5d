"""Hugging Face hub helpers of upstream's ``utils``: files, datasets and keyword filtering.

Everything that touches the hub imports ``huggingface_hub``/``datasets`` when called, and says in one
line when it cannot reach the hub (LensLab itself needs no network).
"""

from __future__ import annotations

import inspect
import json
from typing import Any, Callable, Optional

__all__ = [
    "clear_huggingface_cache",
    "download_file_from_hf",
    "get_dataset",
    "keep_single_column",
    "select_compatible_kwargs",
]

# Upstream's short names for its small evaluation corpora on the hub.
DATASET_ALIASES = {
    "openwebtext": "stas/openwebtext-10k",
    "owt": "stas/openwebtext-10k",
    "pile": "NeelNanda/pile-10k",
    "c4": "NeelNanda/c4-10k",
    "code": "NeelNanda/code-10k",
    "python": "NeelNanda/code-10k",
    "c4_code": "NeelNanda/c4-code-20k",
    "c4-code": "NeelNanda/c4-code-20k",
    "wiki": "NeelNanda/wiki-10k",
}


def _hub_error(what: str, error: Exception) -> RuntimeError:
    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return RuntimeError(f"{what} needs the Hugging Face hub, which could not be reached ({first_line})")


def select_compatible_kwargs(kwargs_dict: dict[str, Any], callable: Callable) -> dict[str, Any]:
    """The entries of ``kwargs_dict`` that ``callable`` takes as named (positional-or-keyword) arguments."""
    accepted = set(inspect.getfullargspec(callable).args)
    return {key: value for key, value in kwargs_dict.items() if key in accepted}


def keep_single_column(dataset: Any, col_name: str) -> Any:
    """A ``datasets`` dataset with every column but ``col_name`` removed."""
    for column in list(dataset.features):
        if column != col_name:
            dataset = dataset.remove_columns(column)
    return dataset


def download_file_from_hf(
    repo_name: str, file_name: str, subfolder: str = ".", cache_dir: Optional[str] = None, force_is_torch: bool = False, **select_kwargs: Any
) -> Any:
    """A file from a hub repository: parsed JSON, a torch checkpoint (``.pt``/``.pth``, or ``force_is_torch``), else its path."""
    from huggingface_hub import hf_hub_download

    try:
        path = hf_hub_download(repo_id=repo_name, filename=file_name, subfolder=subfolder, cache_dir=cache_dir, **select_kwargs)
    except Exception as error:  # offline, unknown repository, missing file: say which in one line
        raise _hub_error(f"download_file_from_hf({repo_name!r}, {file_name!r})", error) from None
    if file_name.endswith((".pt", ".pth")) or force_is_torch:
        import torch

        return torch.load(path, map_location="cpu", weights_only=False)
    if file_name.endswith(".json"):
        with open(path) as handle:
            return json.load(handle)
    return path


def clear_huggingface_cache() -> None:
    """Delete every revision in the local Hugging Face hub cache."""
    from huggingface_hub import scan_cache_dir

    cache = scan_cache_dir()
    hashes = [revision.commit_hash for repo in cache.repos for revision in repo.revisions]
    cache.delete_revisions(*hashes).execute()


def get_dataset(dataset_name: str, **kwargs: Any) -> Any:
    """The train split of one of upstream's small corpora (``"pile"``, ``"owt"``, ``"c4"``, ``"code"``, ``"wiki"``...)."""
    if dataset_name not in DATASET_ALIASES:
        raise ValueError(f"Dataset {dataset_name!r} not supported; known: {', '.join(sorted(DATASET_ALIASES))}")
    try:
        from datasets import load_dataset
    except ImportError:
        raise ImportError(f"get_dataset({dataset_name!r}) needs the 'datasets' package (pip install datasets)") from None
    try:
        return load_dataset(DATASET_ALIASES[dataset_name], split="train", **kwargs)
    except Exception as error:  # offline or unknown: one line naming the dataset
        raise _hub_error(f"get_dataset({dataset_name!r}) ({DATASET_ALIASES[dataset_name]})", error) from None
