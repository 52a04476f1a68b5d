"""Sampling from a HookedTransformer with a key/value cache."""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

import torch

from transformer_lens.errors import CheckFailed
from transformer_lens.kv_cache import HookedTransformerKeyValueCache


def sample_logits(
    final_logits: torch.Tensor,
    top_k: Optional[int] = None,
    top_p: Optional[float] = None,
    temperature: float = 1.0,
    freq_penalty: float = 0.0,
    tokens: Optional[torch.Tensor] = None,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """Next token ids ``"batch"`` from ``"batch d_vocab"`` logits; temperature 0 means greedy."""
    if temperature == 0.0:
        return final_logits.argmax(dim=-1)
    logits = final_logits.float() / temperature
    if freq_penalty > 0 and tokens is not None:
        counts = torch.zeros_like(logits).scatter_add_(-1, tokens, torch.ones_like(tokens, dtype=logits.dtype))
        logits = logits - freq_penalty * counts
    if top_k is not None and top_k > 0:
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
        use_past_kv_cache: bool = True,
        prepend_bos: Optional[bool] = None,
        padding_side: Optional[Literal["left", "right"]] = None,
        return_type: Optional[Literal["input", "str", "tokens"]] = "input",
        verbose: bool = True,
    ) -> Union[str, list[str], torch.Tensor]:
        """Continue the input by ``max_new_tokens`` tokens (greedy when ``do_sample=False``).

        Text in gives text out (``return_type="input"``); batches are left-padded so every
        row continues from its own last token. Finished rows keep emitting EOS.
        """
        if return_type not in ("input", "str", "tokens"):
            raise ValueError(f"return_type must be 'input', 'str' or 'tokens', got {return_type!r}")
        text_input = isinstance(input, (str, list))
        if text_input:
            tokens, attention_mask = self._tokenize(input, prepend_bos, padding_side or "left")
        else:
            tokens = self._check_tokens(input)
            # Padded token ids: mask the pad run at the tokenizer's padded end, as upstream does.
            attention_mask = self._inferred_padding_mask(tokens, prepend_bos, padding_side, caching=True)
            if attention_mask is None:
                attention_mask = torch.ones_like(tokens)
        device = self.W_E.device
        tokens, attention_mask = tokens.to(device), attention_mask.to(device)
        if attention_mask.all():
            attention_mask = None
        eos_ids = self._eos_ids(eos_token_id, stop_at_eos)
        batch = tokens.shape[0]
        finished = torch.zeros(batch, dtype=torch.bool, device=device)
        cache = HookedTransformerKeyValueCache.init_cache(self.cfg, device, batch) if use_past_kv_cache else None
        step_input, step_mask = tokens, attention_mask
        iterator = range(max_new_tokens)
        if verbose:
            from tqdm.auto import tqdm

            iterator = tqdm(iterator, desc="generate", leave=False)
        for _ in iterator:
            if cache is None:
                logits = self(tokens, attention_mask=attention_mask)
            else:
                logits = self(step_input, attention_mask=step_mask, past_kv_cache=cache)
            final = logits[:, -1]
            if do_sample:
                next_tokens = sample_logits(final, top_k, top_p, temperature, freq_penalty, tokens)
            else:
                next_tokens = final.argmax(dim=-1)
            if eos_ids:
                next_tokens = torch.where(finished, torch.full_like(next_tokens, eos_ids[0]), next_tokens)
                finished |= torch.isin(next_tokens, torch.tensor(eos_ids, device=device))
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

    def _eos_ids(self, eos_token_id: Optional[Union[int, list[int]]], stop_at_eos: bool) -> list[int]:
        if not stop_at_eos:
            return []
        if eos_token_id is None:
            if self.tokenizer is None or self.tokenizer.eos_token_id is None:
                raise CheckFailed("stop_at_eos needs eos_token_id or a tokenizer with an EOS token")
            return [self.tokenizer.eos_token_id]
        return [eos_token_id] if isinstance(eos_token_id, int) else list(eos_token_id)
