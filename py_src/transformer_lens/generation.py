"""Sampling from a HookedTransformer with a key/value cache."""

from __future__ import annotations

import math
import numbers
from typing import Any, Literal, Optional, Union

import torch

from transformer_lens import memory_budget
from transformer_lens.errors import CheckFailed
from transformer_lens.kv_cache import HookedTransformerKeyValueCache


def apply_repetition_penalty(
    logits: torch.Tensor, tokens: torch.Tensor, penalty: float
) -> torch.Tensor:
    """``"batch d_vocab"`` logits with every token seen in ``"batch pos"`` tokens made less likely.

    Hugging Face's rule: a seen token's positive logit is divided by ``penalty``, a negative one
    multiplied by it (so ``penalty > 1`` always lowers it). Returns a new tensor.
    """
    if tokens.ndim == 1:
        tokens = tokens[None]
    seen = torch.zeros_like(logits, dtype=torch.bool).scatter_(-1, tokens.to(logits.device).long(), True)
    penalised = torch.where(logits > 0, logits / penalty, logits * penalty)
    return torch.where(seen, penalised, logits)


def sample_logits(
    final_logits: torch.Tensor,
    top_k: Optional[int] = None,
    top_p: Optional[float] = None,
    temperature: float = 1.0,
    freq_penalty: float = 0.0,
    repetition_penalty: float = 1.0,
    tokens: Optional[torch.Tensor] = None,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """Next token ids ``"batch"`` from ``"batch d_vocab"`` logits; temperature 0 means greedy.

    ``repetition_penalty`` (Hugging Face's, 1.0 = off) and ``freq_penalty`` (minus
    ``freq_penalty`` x the count of each token) both read the context ``tokens``; the repetition
    penalty applies before the temperature, greedy decoding included.
    """
    check_sampling_args(top_k, top_p, temperature, freq_penalty, repetition_penalty)
    if (freq_penalty != 0 or repetition_penalty != 1.0) and tokens is None:
        raise CheckFailed("freq_penalty and repetition_penalty need the context tokens (tokens=...)")
    if tokens is not None and tokens.ndim != 2:
        raise CheckFailed(f"tokens must be [batch, pos] token ids, got shape {tuple(tokens.shape)}")
    if repetition_penalty != 1.0:
        final_logits = apply_repetition_penalty(final_logits, tokens, repetition_penalty)
    if temperature == 0.0:
        return final_logits.argmax(dim=-1)
    logits = final_logits.float() / temperature
    if freq_penalty != 0:
        counts = torch.zeros_like(logits).scatter_add_(-1, tokens, torch.ones_like(tokens, dtype=logits.dtype))
        logits = logits - freq_penalty * counts
    if top_k is not None:
        kth = torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        # Keep the smallest prefix whose mass reaches top_p (always at least one token).
        drop_sorted = cumulative - sorted_logits.softmax(dim=-1) >= top_p
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return torch.multinomial(logits.softmax(dim=-1), 1, generator=generator)[:, 0]


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_sampling_args(
    top_k: Any, top_p: Any, temperature: Any, freq_penalty: Any, repetition_penalty: Any = 1.0
) -> None:
    """One-line error for sampling settings outside their meaning (upstream's ranges).

    :class:`CheckFailed` is a ``ValueError`` and, as upstream asserts these, an ``AssertionError``.
    """
    if not _is_number(temperature) or not math.isfinite(temperature) or temperature < 0:
        raise CheckFailed(f"temperature must be a finite number >= 0 (0 means greedy), got {temperature!r}")
    if top_k is not None and (not isinstance(top_k, numbers.Integral) or isinstance(top_k, bool) or top_k < 1):
        raise CheckFailed(f"top_k must be a positive integer (or None for no top-k filter), got {top_k!r}")
    if top_p is not None and (not _is_number(top_p) or not 0.0 < top_p <= 1.0):
        raise CheckFailed(f"top_p must lie in (0, 1] (or be None for no nucleus filter), got {top_p!r}")
    if not _is_number(freq_penalty) or not math.isfinite(freq_penalty):
        raise CheckFailed(f"freq_penalty must be a finite number, got {freq_penalty!r}")
    if not _is_number(repetition_penalty) or not math.isfinite(repetition_penalty) or repetition_penalty <= 0:
        raise CheckFailed(f"repetition_penalty must be a finite number > 0 (1.0 = off), got {repetition_penalty!r}")


def check_generation_length(cfg: Any, prompt_length: int, max_new_tokens: Any) -> None:
    """Reject a negative count, and (before any forward) a run that would outgrow ``n_ctx``.

    The last new token is never fed back, so ``prompt_length + max_new_tokens - 1`` positions
    must fit the learned positional table; rotary models have no table and no such limit.
    """
    if not isinstance(max_new_tokens, numbers.Integral) or isinstance(max_new_tokens, bool) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be an integer >= 0, got {max_new_tokens!r}")
    if cfg.positional_embedding_type != "standard" or max_new_tokens == 0:
        return
    needed = prompt_length + max_new_tokens - 1
    if needed > cfg.n_ctx:
        room = cfg.n_ctx + 1 - prompt_length
        raise ValueError(
            f"generate would reach {needed} positions (prompt of {prompt_length} tokens + max_new_tokens="
            f"{max_new_tokens}) but the model's context length is n_ctx={cfg.n_ctx}: at most {room} new tokens fit"
        )


def eos_ids_for(tokenizer: Any, eos_token_id: Optional[Union[int, list[int]]], stop_at_eos: bool) -> list[int]:
    """The token ids that end a row: ``eos_token_id`` (one or several), else the tokenizer's; none without ``stop_at_eos``."""
    if not stop_at_eos:
        return []
    if eos_token_id is None:
        if tokenizer is None or getattr(tokenizer, "eos_token_id", None) is None:
            raise CheckFailed("stop_at_eos needs eos_token_id or a tokenizer with an EOS token")
        return [tokenizer.eos_token_id]
    return [eos_token_id] if isinstance(eos_token_id, int) else list(eos_token_id)


def next_token_step(
    final_logits: torch.Tensor,
    generated: torch.Tensor,
    finished: torch.Tensor,
    eos_ids: list[int],
    do_sample: bool,
    top_k: Optional[int],
    top_p: Optional[float],
    temperature: float,
    freq_penalty: float,
    repetition_penalty: float = 1.0,
) -> torch.Tensor:
    """One decoding step, shared by decoders and encoder-decoders: the next token ``"batch"`` from the
    last position's logits ``"batch d_vocab"`` (sampled, or greedy without ``do_sample``).

    ``generated`` ``"batch pos"`` (the tokens so far) feeds the frequency and repetition penalties. Rows already
    ``finished`` emit ``eos_ids[0]``; ``finished`` ``"batch"`` is updated in place.
    """
    if do_sample:
        next_tokens = sample_logits(
            final_logits, top_k, top_p, temperature, freq_penalty, repetition_penalty, tokens=generated
        )
    elif repetition_penalty != 1.0:  # greedy decoding is penalised too, as Hugging Face's
        next_tokens = apply_repetition_penalty(final_logits, generated, repetition_penalty).argmax(dim=-1)
    else:
        next_tokens = final_logits.argmax(dim=-1)
    if eos_ids:
        next_tokens = torch.where(finished, torch.full_like(next_tokens, eos_ids[0]), next_tokens)
        finished |= torch.isin(next_tokens, torch.tensor(eos_ids, device=next_tokens.device))
    return next_tokens


class GenerationMixin:
    @torch.inference_mode()
    def generate(
        self,
        input: Union[str, list[str], torch.Tensor] = "",
        max_new_tokens: int = 10,
        stop_at_eos: bool = True,
        eos_token_id: Optional[Union[int, list[int]]] = None,
        do_sample: bool = True,
        top_k: Optional[int] = None,
        top_p: Optional[float] = None,
        temperature: float = 1.0,
        freq_penalty: float = 0.0,
        repetition_penalty: float = 1.0,
        use_past_kv_cache: bool = True,
        prepend_bos: Optional[bool] = None,
        padding_side: Optional[Literal["left", "right"]] = None,
        return_type: Optional[Literal["input", "str", "tokens"]] = "input",
        verbose: bool = True,
        max_memory_mb: Optional[float] = None,
    ) -> Union[str, list[str], torch.Tensor]:
        """Continue the input by ``max_new_tokens`` tokens (greedy when ``do_sample=False``).

        Text in gives text out (``return_type="input"``); batches are left-padded so every
        row continues from its own last token. Finished rows keep emitting EOS.

        Settings outside upstream's ranges (``top_p`` in (0, 1], ``top_k >= 1``, finite
        ``temperature >= 0``, ``max_new_tokens >= 0``) and, with learned positional embeddings,
        a run that would need more than ``n_ctx`` positions raise ``ValueError`` before any forward.

        With ``use_past_kv_cache=True`` the key/value cache for ``batch x (prompt + max_new_tokens - 1)``
        positions must fit ``max_memory_mb`` (default: the memory free on the model's device);
        otherwise a one-line ``MemoryError`` names the numbers before any forward (docs/scaling.md).
        """
        memory_budget.check_memory_mb(max_memory_mb)
        if return_type not in ("input", "str", "tokens"):
            raise ValueError(f"return_type must be 'input', 'str' or 'tokens', got {return_type!r}")
        check_sampling_args(top_k, top_p, temperature, freq_penalty, repetition_penalty)
        text_input = isinstance(input, (str, list))
        if text_input:
            tokens, attention_mask = self._tokenize(input, prepend_bos, padding_side or "left")
        else:
            tokens = self._check_tokens(input)
            # Padded token ids: mask the pad run at the tokenizer's padded end, as upstream does.
            attention_mask = self._inferred_padding_mask(tokens, prepend_bos, padding_side, caching=True)
            if attention_mask is None:
                attention_mask = torch.ones_like(tokens)
        check_generation_length(self.cfg, tokens.shape[1], max_new_tokens)
        device = self.W_E.device
        tokens, attention_mask = tokens.to(device), attention_mask.to(device)
        if attention_mask.all():
            attention_mask = None
        eos_ids = self._eos_ids(eos_token_id, stop_at_eos)
        batch = tokens.shape[0]
        finished = torch.zeros(batch, dtype=torch.bool, device=device)
        cache = None
        if use_past_kv_cache:
            # The last new token is never fed back: the cache ends one short of the output.
            longest = tokens.shape[1] + max(max_new_tokens - 1, 0)
            cache = HookedTransformerKeyValueCache.init_cache(self.cfg, device, batch, longest, max_memory_mb)
        step_input, step_mask = tokens, attention_mask
        iterator = range(max_new_tokens)
        if verbose:
            from tqdm.auto import tqdm

            iterator = tqdm(iterator, desc="generate", leave=False)
        for _ in iterator:
            if cache is not None and self._crosses_longrope_context(tokens, attention_mask, step_input.shape[1]):
                # LongRoPE switches every position to its long factors: cached keys were rotated
                # with the short ones, so recompute them (as HF's Phi-3 does at this step).
                cache = HookedTransformerKeyValueCache.init_cache(self.cfg, device, batch)
                step_input, step_mask = tokens, attention_mask
            if cache is None:
                logits = self(tokens, attention_mask=attention_mask)
            else:
                logits = self(step_input, attention_mask=step_mask, past_kv_cache=cache)
            next_tokens = next_token_step(
                logits[:, -1], tokens, finished, eos_ids, do_sample, top_k, top_p, temperature, freq_penalty, repetition_penalty
            )
            tokens = torch.cat([tokens, next_tokens[:, None]], dim=1)
            if attention_mask is not None:
                attention_mask = torch.cat([attention_mask, torch.ones_like(next_tokens[:, None])], dim=1)
            step_input = next_tokens[:, None]
            step_mask = None if attention_mask is None else torch.ones_like(step_input)
            if eos_ids and bool(finished.all()):
                break
        if return_type == "tokens" or (return_type == "input" and not text_input):
            return tokens
        real = attention_mask.bool() if attention_mask is not None else torch.ones_like(tokens, dtype=torch.bool)
        bos = getattr(self.tokenizer, "bos_token_id", None)
        texts = []
        for row, keep in zip(tokens, real):
            ids = row[keep]
            if prepend_bos is not False and bos is not None and len(ids) and int(ids[0]) == bos:
                ids = ids[1:]
            texts.append(self.to_string(ids))
        return texts[0] if isinstance(input, str) else texts

    def _crosses_longrope_context(self, tokens: torch.Tensor, attention_mask: Optional[torch.Tensor], step_len: int) -> bool:
        """Whether this step takes some row past LongRoPE's original context (cached keys then go stale)."""
        original = self.cfg.rotary_longrope_original_ctx_len
        if original is None or self.cfg.rotary_longrope_long_factor is None:
            return False
        lengths = attention_mask.sum(dim=1) if attention_mask is not None else torch.full((tokens.shape[0],), tokens.shape[1])
        before = lengths - step_len
        return bool(((before > 0) & (before <= original) & (lengths > original)).any())

    def _eos_ids(self, eos_token_id: Optional[Union[int, list[int]]], stop_at_eos: bool) -> list[int]:
        return eos_ids_for(self.tokenizer, eos_token_id, stop_at_eos)
