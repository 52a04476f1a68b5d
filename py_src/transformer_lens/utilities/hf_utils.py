"""Hugging Face hub helpers of upstream's ``utils``: files, datasets and keyword filtering.

Everything that touches the hub imports ``huggingface_hub``/``datasets`` when called, and says in one
line when it cannot reach the hub (LensLab itself needs no network).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import random
import time
from typing import Any, Callable, Optional, TypeVar

__all__ = [
    "call_hf_with_retry",
    "clear_huggingface_cache",
    "download_file_from_hf",
    "enable_hf_retry",
    "get_hf_token",
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


T = TypeVar("T")
# Upstream's names: the attribute marking a wrapped from_pretrained, and the longest backoff.
_TL_RETRY_WRAPPED_ATTR = "_transformer_lens_retries_rate_limits"
_HF_RETRY_MAX_DELAY_SECONDS = 120.0


def get_hf_token() -> Optional[str]:
    """The ``HF_TOKEN`` environment variable, or None when it is unset or empty."""
    return os.environ.get("HF_TOKEN") or None


def _rate_limit_wait(error: Exception) -> Optional[float]:
    """None unless ``error`` is the hub's HTTP 429; then its Retry-After in seconds (0.0 when absent)."""
    response = getattr(error, "response", None)
    if getattr(response, "status_code", None) != 429:
        return None
    try:
        return float(response.headers.get("Retry-After", 0.0))
    except (TypeError, ValueError):
        return 0.0


def call_hf_with_retry(func: Callable[..., T], *args: Any, max_attempts: int = 5, base_delay: float = 1.0, **kwargs: Any) -> T:
    """``func(*args, **kwargs)``, retried when the hub answers HTTP 429 (rate limited).

    Waits the server's Retry-After, else an exponential backoff with jitter (capped at two minutes);
    any other error, or the last attempt's, propagates.
    """
    for attempt in range(max_attempts):
        try:
            return func(*args, **kwargs)
        except Exception as error:
            wait = _rate_limit_wait(error)
            if wait is None or attempt == max_attempts - 1:
                raise
            if wait <= 0:
                # +-20% jitter; capped after it, so the longest wait is the cap itself.
                wait = min(base_delay * 2**attempt * (0.8 + 0.4 * random.random()), _HF_RETRY_MAX_DELAY_SECONDS)
            logging.getLogger(__name__).warning("Hugging Face hub rate limit (HTTP 429): retrying in %.1f s", wait)
            time.sleep(wait)
    raise AssertionError("unreachable: the last attempt returns or raises")


def enable_hf_retry() -> None:
    """Make transformers' ``AutoConfig``/``AutoModel``/``AutoTokenizer.from_pretrained`` retry on HTTP 429.

    Process-wide and idempotent (upstream turns it on with TRANSFORMERLENS_HF_RETRY=1).
    """
    import transformers

    for class_name in ("AutoConfig", "AutoModel", "AutoModelForCausalLM", "AutoTokenizer"):
        cls = getattr(transformers, class_name)
        current = cls.from_pretrained
        if getattr(current, _TL_RETRY_WRAPPED_ATTR, False):
            continue
        original = current.__func__

        def from_pretrained(klass: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            return call_hf_with_retry(_original, klass, *args, **kwargs)

        setattr(from_pretrained, _TL_RETRY_WRAPPED_ATTR, True)
        cls.from_pretrained = classmethod(from_pretrained)


# Looked up at call time through this module (so it can be replaced in tests); None until first use.
hf_hub_download: Optional[Callable[..., str]] = None


def _import_hf_hub_download() -> Callable[..., str]:
    global hf_hub_download
    from huggingface_hub import hf_hub_download as download

    hf_hub_download = download
    return download


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
    download = hf_hub_download if hf_hub_download is not None else _import_hf_hub_download()
    try:
        path = call_hf_with_retry(
            download, repo_id=repo_name, filename=file_name, subfolder=subfolder, cache_dir=cache_dir, **select_kwargs
        )
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
