"""Tokenizer helpers of upstream's ``utils``: BOS handling and a corpus cut into fixed-length rows."""

from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np
import torch

from transformer_lens.utils import get_attention_mask, get_cumsum_along_dim

__all__ = [
    "get_attention_mask",
    "get_input_with_manually_prepended_bos",
    "get_tokenizer_with_bos",
    "get_tokens_with_bos_removed",
    "tokenize_and_concatenate",
]


def get_input_with_manually_prepended_bos(bos_token: Optional[str], input: Union[str, list[str]]) -> Union[str, list[str]]:
    """The text with ``bos_token`` put in front (each string of a list); unchanged when there is no BOS token.

    >>> get_input_with_manually_prepended_bos("<s>", ["a", "b"])
    ['<s>a', '<s>b']
    """
    if bos_token is None:
        return input
    if isinstance(input, str):
        return bos_token + input
    return [bos_token + text for text in input]


def get_tokens_with_bos_removed(tokenizer: Any, tokens: torch.Tensor, padding_side: Optional[str] = None) -> torch.Tensor:
    """``"... pos" -> "... pos-1"``: each row without its BOS token.

    Right padding puts BOS first in every row. Left padding puts it after the row's pads; when BOS and
    pad share an id, the BOS is the last of the leading run of that id. A tokenizer with no BOS token
    leaves the tokens unchanged.
    """
    if tokenizer.bos_token_id is None:
        return tokens
    padding_side = padding_side or tokenizer.padding_side
    if padding_side == "right":
        return tokens[..., 1:]
    rows = tokens.reshape(-1, tokens.shape[-1])
    if tokenizer.bos_token_id == tokenizer.pad_token_id:
        leading_pads = (get_cumsum_along_dim(rows.ne(tokenizer.pad_token_id), -1) == 0).sum(-1)
        bos_positions = leading_pads - 1
    else:
        bos_positions = rows.eq(tokenizer.bos_token_id).int().argmax(-1)
    keep = torch.ones_like(rows, dtype=torch.bool)
    keep[torch.arange(rows.shape[0]), bos_positions] = False
    return rows[keep].view(*tokens.shape[:-1], tokens.shape[-1] - 1)


def get_tokenizer_with_bos(tokenizer: Any) -> Any:
    """A tokenizer that prepends BOS itself: ``tokenizer`` when it already does (or has no BOS token),
    else the same tokenizer reloaded with ``add_bos_token=True`` (padding side kept)."""
    if tokenizer.bos_token is None:
        return tokenizer
    init_kwargs = dict(tokenizer.init_kwargs)
    source = init_kwargs.pop("name_or_path", None) or tokenizer.name_or_path
    if init_kwargs.pop("add_bos_token", None) or getattr(tokenizer, "add_bos_token", False):
        return tokenizer
    from transformers import AutoTokenizer

    try:
        with_bos = AutoTokenizer.from_pretrained(source, add_bos_token=True, **init_kwargs)
    except (OSError, ValueError):
        # No files to reload from (an in-memory tokenizer), or a template that cannot add BOS.
        return tokenizer
    with_bos.padding_side = tokenizer.padding_side
    return with_bos


def tokenize_and_concatenate(
    dataset: Any,
    tokenizer: Any,
    streaming: bool = False,
    max_length: int = 1024,
    column_name: str = "text",
    add_bos_token: bool = True,
    num_proc: Optional[int] = 10,
    set_format: bool = True,
) -> Any:
    """A ``datasets`` dataset of text cut into rows of ``max_length`` tokens, in one column ``"tokens"``.

    Documents are tokenized without special tokens and joined with the EOS token between them, so no
    row is padded and no document is truncated; the tail that does not fill a row is dropped (a batch
    shorter than one row is padded to one). With ``add_bos_token`` every row starts with BOS.
    ``dataset`` may be a ``Dataset`` or an ``IterableDataset`` (``streaming=True``, no parallelism).
    """
    if tokenizer.eos_token_id is None:
        raise ValueError("tokenize_and_concatenate needs a tokenizer with an EOS token (documents are joined with it)")
    extra_columns = [name for name in (dataset.column_names or []) if name != column_name]
    if extra_columns:
        dataset = dataset.remove_columns(extra_columns)
    had_pad_token = tokenizer.pad_token is not None
    if not had_pad_token:
        tokenizer.add_special_tokens({"pad_token": "<PAD>"})
    row_length = max_length - 1 if add_bos_token else max_length

    def rows_of(batch: dict[str, list[str]]) -> dict[str, np.ndarray]:
        texts = batch[column_name]
        if not texts:
            return {"tokens": np.zeros((0, max_length if add_bos_token else row_length), dtype=np.int64)}
        ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
        joined: list[int] = []
        for index, doc in enumerate(ids):
            if index:
                joined.append(tokenizer.eos_token_id)
            joined.extend(doc)
        flat = np.asarray(joined, dtype=np.int64)
        if len(flat) < row_length:
            # Pad with EOS when the tokenizer had no pad token of its own (the added one is out of vocabulary).
            pad_id = tokenizer.pad_token_id if had_pad_token else tokenizer.eos_token_id
            flat = np.concatenate([flat, np.full(row_length - len(flat), pad_id, dtype=np.int64)])
        n_rows = len(flat) // row_length
        table = flat[: n_rows * row_length].reshape(n_rows, row_length)
        if add_bos_token:
            table = np.concatenate([np.full((n_rows, 1), tokenizer.bos_token_id, dtype=np.int64), table], axis=1)
        return {"tokens": table}

    parallel = {} if streaming else {"num_proc": num_proc}
    tokenized = dataset.map(rows_of, batched=True, remove_columns=[column_name], **parallel)
    if set_format:
        tokenized.set_format(type="torch", columns=["tokens"])
    return tokenized
