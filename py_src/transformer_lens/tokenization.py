"""Tokenizer helpers of HookedTransformer (BOS handling, padding, string tokens)."""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

import torch

from transformer_lens.errors import CheckFailed

PaddingSide = Literal["left", "right"]
TokenInput = Union[str, list, torch.Tensor]


def _check_texts(input: Any) -> list[str]:
    """The prompts of a string or a non-empty list/tuple of strings that UTF-8 can encode."""
    if isinstance(input, str):
        texts = [input]
    elif isinstance(input, (list, tuple)):
        if not input:
            raise ValueError("the input is an empty list: pass at least one prompt")
        texts = list(input)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text input must be a string or a list of strings, but item {i} is {type(text).__name__}")
    else:
        raise TypeError(f"text input must be a string or a list of strings, got {type(input).__name__}")
    for i, text in enumerate(texts):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            where = f" of string {i}" if len(texts) > 1 else ""
            raise ValueError(
                f"cannot tokenize character {text[error.start]!r} at index {error.start}{where}: "
                "a lone surrogate is not valid Unicode text"
            ) from None
    return texts


def check_token_ids(tokens: Any, d_vocab: int, n_ctx: Optional[int], float_hint: str = "") -> torch.Tensor:
    """Token ids as an int64 ``"batch pos"`` tensor, or a one-line error naming what is wrong.

    ``n_ctx`` is the longest sequence the model takes (None: no limit); ``float_hint`` is added
    to the error for floating-point input.
    """
    if not isinstance(tokens, torch.Tensor):
        raise TypeError(f"input must be a string, a list of strings or a token tensor, got {type(tokens).__name__}")
    if tokens.dtype.is_floating_point or tokens.dtype == torch.bool or tokens.is_complex():
        raise TypeError(f"token ids must be an integer tensor, got dtype {tokens.dtype}{float_hint}")
    if tokens.ndim == 1:
        tokens = tokens.unsqueeze(0)
    if tokens.ndim != 2:
        raise ValueError(f"tokens must have shape [batch, pos], got {tuple(tokens.shape)}")
    if tokens.shape[0] == 0:
        raise ValueError(f"tokens of shape {tuple(tokens.shape)} hold no prompts: pass at least one")
    if tokens.shape[1] == 0:
        raise ValueError(
            f"tokens of shape {tuple(tokens.shape)} have no positions: the model needs at least one token "
            "(an empty string without BOS tokenizes to nothing)"
        )
    low, high = int(tokens.min()), int(tokens.max())
    if low < 0 or high >= d_vocab:
        raise ValueError(f"token ids must lie in [0, {d_vocab}), got range [{low}, {high}]")
    if n_ctx is not None and tokens.shape[1] > n_ctx:
        raise ValueError(f"sequence length {tokens.shape[1]} exceeds the context length n_ctx={n_ctx}")
    # Embedding lookups index with int64; uint8 would even be read as a boolean mask.
    return tokens if tokens.dtype == torch.long else tokens.long()


class TokenizationMixin:
    """Needs ``self.cfg`` and ``self.tokenizer``."""

    tokenizer: Any

    def set_tokenizer(self, tokenizer: Any, default_padding_side: PaddingSide = "right") -> None:
        """Attach a Hugging Face tokenizer, giving it pad/bos tokens if it lacks them."""
        if default_padding_side not in ("left", "right"):
            raise ValueError(f"default_padding_side must be 'left' or 'right', got {default_padding_side!r}")
        if tokenizer.eos_token is None and tokenizer.bos_token is None:
            tokenizer.add_special_tokens({"eos_token": "<|endoftext|>"})
        if tokenizer.eos_token is None:
            tokenizer.eos_token = tokenizer.bos_token
        if tokenizer.bos_token is None:
            tokenizer.bos_token = tokenizer.eos_token
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = default_padding_side
        self.tokenizer = tokenizer
        self.cfg.tokenizer_padding_side = default_padding_side
        if self.cfg.d_vocab == -1:
            self.cfg.d_vocab = max(tokenizer.vocab_size, len(tokenizer))
            if self.cfg.d_vocab_out == -1:  # a user-set output vocabulary stays
                self.cfg.d_vocab_out = self.cfg.d_vocab
        if self.cfg.tokenizer_prepends_bos is None:
            probe = tokenizer.encode("")
            self.cfg.tokenizer_prepends_bos = len(probe) > 0 and probe[0] == tokenizer.bos_token_id

    def _require_tokenizer(self) -> Any:
        if self.tokenizer is None:
            raise CheckFailed("This model has no tokenizer: call model.set_tokenizer(...) or pass token ids")
        return self.tokenizer

    def _tokenize(
        self,
        input: Union[str, list[str]],
        prepend_bos: Optional[bool] = None,
        padding_side: Optional[PaddingSide] = None,
        truncate: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids ``"batch pos"`` and the matching attention mask (1 = real token)."""
        tokenizer = self._require_tokenizer()
        prepend_bos = self.cfg.default_prepend_bos if prepend_bos is None else prepend_bos
        # The tokenizer's own setting is the default, so `model.tokenizer.padding_side = "left"` works.
        padding_side = padding_side or getattr(tokenizer, "padding_side", None) or self.cfg.tokenizer_padding_side
        if padding_side not in ("left", "right"):
            raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
        texts = _check_texts(input)
        encoded = tokenizer(texts, add_special_tokens=False)["input_ids"]
        if prepend_bos:
            encoded = [[tokenizer.bos_token_id, *ids] for ids in encoded]
        if truncate:
            encoded = [ids[: self.cfg.n_ctx] for ids in encoded]
        length = max((len(ids) for ids in encoded), default=0)
        tokens = torch.full((len(encoded), length), tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(encoded), length), dtype=torch.long)
        for row, ids in enumerate(encoded):
            span = slice(length - len(ids), length) if padding_side == "left" else slice(0, len(ids))
            tokens[row, span] = torch.tensor(ids, dtype=torch.long)
            mask[row, span] = 1
        return tokens, mask

    def to_tokens(
        self,
        input: Union[str, list[str]],
        prepend_bos: Optional[bool] = None,
        padding_side: Optional[PaddingSide] = None,
        move_to_device: bool = True,
        truncate: bool = True,
    ) -> torch.Tensor:
        """String(s) -> token ids ``"batch pos"``, BOS prepended by default, padded to one length."""
        tokens, _ = self._tokenize(input, prepend_bos, padding_side, truncate)
        return tokens.to(self.cfg.device) if move_to_device else tokens

    def to_batch(
        self,
        input: Union[str, list[str]],
        prepend_bos: Optional[bool] = None,
        padding_side: Optional[PaddingSide] = None,
        move_to_device: bool = True,
        truncate: bool = True,
    ) -> torch.Tensor:
        """Several prompts -> one padded batch of token ids ``"batch pos"``.

        The user guide's name for :meth:`to_tokens` on a list; a single string gives a batch of
        one. Padding uses the tokenizer's pad token on ``padding_side`` (the model's
        ``cfg.tokenizer_padding_side`` by default). A forward pass on these ids does not know
        which are padding: pass the strings themselves, or ``attention_mask=``, to mask it.
        """
        if isinstance(input, (list, tuple)) and not input:
            raise ValueError("to_batch needs at least one prompt, got an empty list")
        return self.to_tokens(list(input) if isinstance(input, tuple) else input, prepend_bos, padding_side, move_to_device, truncate)

    def to_string(self, tokens: Union[torch.Tensor, list, int]) -> Union[str, list[str]]:
        """Token ids -> text; a batch ``"batch pos"`` gives a list of strings."""
        tokenizer = self._require_tokenizer()
        if isinstance(tokens, int):
            tokens = [tokens]
        if isinstance(tokens, torch.Tensor):
            if tokens.ndim == 2:
                return [self.to_string(row) for row in tokens]  # type: ignore[misc]
            tokens = tokens.reshape(-1).tolist()
        elif tokens and isinstance(tokens[0], (list, torch.Tensor)):
            return [self.to_string(row) for row in tokens]  # type: ignore[misc]
        return tokenizer.decode(tokens, clean_up_tokenization_spaces=False)

    def to_str_tokens(
        self,
        input: TokenInput,
        prepend_bos: Optional[bool] = None,
        padding_side: Optional[PaddingSide] = None,
    ) -> Union[list[str], list[list[str]]]:
        """Each token as its own string; a list input or 2-D batch gives a list of lists."""
        tokenizer = self._require_tokenizer()
        if isinstance(input, list) and input and isinstance(input[0], str):
            return [self.to_str_tokens(text, prepend_bos, padding_side) for text in input]  # type: ignore[misc]
        if isinstance(input, str):
            ids = self.to_tokens(input, prepend_bos, padding_side, move_to_device=False)[0].tolist()
        else:
            tensor = torch.as_tensor(input)
            if tensor.ndim == 2 and tensor.shape[0] > 1:
                return [self.to_str_tokens(row) for row in tensor]  # type: ignore[misc]
            ids = tensor.reshape(-1).tolist()
        return [tokenizer.decode([i], clean_up_tokenization_spaces=False) for i in ids]

    def to_single_token(self, string: str) -> int:
        """The id of a string that is exactly one token (error otherwise)."""
        tokens = self.to_tokens(string, prepend_bos=False, move_to_device=False)[0]
        if tokens.numel() != 1:
            pieces = self.to_str_tokens(tokens)
            raise ValueError(f"{string!r} is not a single token: it splits into {len(pieces)} tokens {pieces}")
        return int(tokens.item())

    def to_single_str_token(self, int_token: int) -> str:
        if not isinstance(int_token, int):
            raise TypeError(f"to_single_str_token expects an int, got {type(int_token).__name__}")
        return self.to_str_tokens(torch.tensor([int_token]))[0]  # type: ignore[return-value]

    def get_token_position(
        self,
        single_token: Union[str, int],
        input: Union[str, torch.Tensor],
        mode: Literal["first", "last"] = "first",
        prepend_bos: Optional[bool] = None,
        padding_side: Optional[PaddingSide] = None,
    ) -> int:
        """Position of a token in a (single) input, its first or last occurrence."""
        if mode not in ("first", "last"):
            raise ValueError(f"mode must be 'first' or 'last', got {mode!r}")
        tokens = self.to_tokens(input, prepend_bos, padding_side) if isinstance(input, str) else input
        if tokens.ndim == 2:
            if tokens.shape[0] != 1:
                raise ValueError(f"get_token_position needs a single sequence, got a batch of {tokens.shape[0]}")
            tokens = tokens[0]
        token_id = self.to_single_token(single_token) if isinstance(single_token, str) else int(single_token)
        positions = (tokens == token_id).nonzero().flatten()
        if positions.numel() == 0:
            raise ValueError(f"Token {single_token!r} does not occur in the input")
        return int(positions[0 if mode == "first" else -1])

    def tokens_to_residual_directions(self, tokens: Union[str, int, torch.Tensor]) -> torch.Tensor:
        """Unembedding directions of tokens: ``"d_model"`` for one token, ``"... d_model"`` for many."""
        if isinstance(tokens, str):
            tokens = self.to_single_token(tokens)
        if isinstance(tokens, int):
            return self.W_U[:, tokens]  # type: ignore[attr-defined]
        tokens = torch.as_tensor(tokens)
        if tokens.numel() == 1 and tokens.ndim <= 1:
            return self.W_U[:, int(tokens.item())]  # type: ignore[attr-defined]
        return self.W_U[:, tokens].movedim(0, -1)  # type: ignore[attr-defined]  # type: ignore[attr-defined]
