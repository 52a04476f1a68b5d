"""HookedEncoderDecoder: a T5-style encoder-decoder with a hook point on every activation.

API-compatible with upstream TransformerLens's ``HookedEncoderDecoder``: ``forward(input,
decoder_input, return_type, one_zero_attention_mask)`` returns the decoder's logits;
``to_tokens`` gives ``(tokens, attention_mask)``; ``generate`` decodes greedily or by sampling,
with a key/value cache for the decoder's self-attention. Blocks are the shared components
wired by ``components/t5.py``; ``loading/families/t5.py`` converts checkpoints. Weights are
loaded as they are (no folding), as upstream does.
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

import torch
import torch.nn as nn

from transformer_lens.components.embed import Embed, Unembed
from transformer_lens.components.norms import RMSNorm
from transformer_lens.components.t5 import T5Block
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.generation import check_sampling_args, eos_ids_for, next_token_step
from transformer_lens.hook_points import HookPoint
from transformer_lens.hooked_model_base import HookedModelBase
from transformer_lens.kv_cache import HookedTransformerKeyValueCache


class HookedEncoderDecoder(HookedModelBase):
    """T5: ``encoder.{i}`` and ``decoder.{i}`` blocks (``attn``, decoder ``cross_attn``, ``mlp``, ``ln1..3``).

    ``hook_embed`` is the encoder's token embedding and ``hook_decoder_embed`` the decoder's;
    ``encoder.0.attn.rel_pos_hook`` / ``decoder.0.attn.rel_pos_hook`` hold the relative position
    biases ``[1, head_index, query_pos, key_pos]`` that every layer of that stack adds to its scores.
    """

    float_input_hint = ""
    checks_cache_budget = False  # the encoder/decoder stacks' hook shapes are not in hook_names

    def max_positions(self) -> Optional[int]:
        return None  # relative position buckets: any length runs

    def __init__(self, cfg: Union[HookedTransformerConfig, dict], tokenizer: Any = None, move_to_device: bool = True, **kwargs: Any) -> None:
        super().__init__()
        cfg = self.init_config(cfg, tokenizer)
        self.embed = Embed(cfg)
        self.hook_embed = HookPoint()  # [batch, pos, d_model]
        self.hook_decoder_embed = HookPoint()  # [batch, decoder_pos, d_model]
        self.encoder = nn.ModuleList([T5Block(cfg, index, is_decoder=False) for index in range(cfg.n_layers)])
        self.encoder_final_ln = RMSNorm(cfg)
        self.decoder = nn.ModuleList([T5Block(cfg, index, is_decoder=True) for index in range(cfg.n_layers)])
        self.decoder_final_ln = RMSNorm(cfg)
        self.unembed = Unembed(cfg)
        self.finish_init(move_to_device)

    # ---- tokenization ----------------------------------------------------------------
    def to_tokens(self, input: Union[str, list[str]], move_to_device: bool = True, truncate: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Text -> ``(tokens, attention_mask)``, each ``"batch pos"`` (right-padded, with T5's EOS)."""
        if self.tokenizer is None:
            raise ValueError("This model has no tokenizer: pass one to from_pretrained(tokenizer=...) or pass token ids")
        encodings = self.tokenizer(input, return_tensors="pt", padding=True, truncation=truncate, max_length=self.cfg.n_ctx if truncate else None)
        tokens, mask = encodings["input_ids"], encodings["attention_mask"]
        if move_to_device:
            tokens, mask = tokens.to(self.embed.W_E.device), mask.to(self.embed.W_E.device)
        return tokens, mask

    def _start_tokens(self, batch: int) -> torch.Tensor:
        start = self.cfg.decoder_start_token_id
        if start is None:
            raise ValueError("decoder_input is needed: the config has no decoder_start_token_id")
        return torch.full((batch, 1), start, dtype=torch.long, device=self.embed.W_E.device)

    # ---- forward ---------------------------------------------------------------------
    def encode(self, tokens: torch.Tensor, one_zero_attention_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Encoder token ids ``"batch pos"`` -> the encoder's normalised output ``"batch pos d_model"``."""
        tokens = self._check_tokens(tokens, "input")
        mask = _mask_or_none(one_zero_attention_mask, tokens)
        resid = self.hook_embed(self.embed(tokens))
        bias = self.encoder[0].attn.compute_relative_attention_bias(tokens.shape[1], tokens.shape[1])
        for block in self.encoder:
            resid = block(resid, bias, attention_mask=mask)
        return self.encoder_final_ln(resid)

    def decode(
        self,
        decoder_input: torch.Tensor,
        encoder_output: torch.Tensor,
        one_zero_attention_mask: Optional[torch.Tensor] = None,
        past_kv_cache: Optional[HookedTransformerKeyValueCache] = None,
    ) -> torch.Tensor:
        """Decoder token ids ``"batch decoder_pos"`` -> logits ``"batch decoder_pos d_vocab"``."""
        decoder_input = self._check_tokens(decoder_input, "decoder_input")
        mask = _mask_or_none(one_zero_attention_mask, encoder_output[..., 0])
        past_len = past_kv_cache.entries[0].past_keys.shape[1] if past_kv_cache is not None else 0
        resid = self.hook_decoder_embed(self.embed(decoder_input))
        length = decoder_input.shape[1]
        bias = self.decoder[0].attn.compute_relative_attention_bias(length, past_len + length, past_len)
        for index, block in enumerate(self.decoder):
            entry = past_kv_cache.entries[index] if past_kv_cache is not None else None
            resid = block(resid, bias, encoder_hidden_states=encoder_output, encoder_attention_mask=mask, past_kv_cache_entry=entry)
        resid = self.decoder_final_ln(resid)
        if self.cfg.extra.get("scale_decoder_outputs", self.cfg.tie_word_embeddings):
            resid = resid * self.cfg.d_model**-0.5  # T5 rescales before a tied unembedding
        return self.unembed(resid)

    def forward(
        self,
        input: Union[str, list[str], torch.Tensor],
        decoder_input: Optional[torch.Tensor] = None,
        return_type: Optional[Literal["logits"]] = "logits",
        one_zero_attention_mask: Optional[torch.Tensor] = None,
    ) -> Optional[torch.Tensor]:
        """Encode ``input`` (text or ``"batch pos"`` ids) and decode ``decoder_input``; logits ``"batch decoder_pos d_vocab"``.

        With text input and no ``decoder_input`` the decoder starts from ``decoder_start_token_id``.
        """
        if return_type not in ("logits", None):
            raise ValueError(f"return_type must be 'logits' or None, got {return_type!r}")
        if isinstance(input, (str, list)):
            tokens, text_mask = self.to_tokens(input)
            one_zero_attention_mask = text_mask if one_zero_attention_mask is None else one_zero_attention_mask
        else:
            tokens = input
        if decoder_input is None:
            if not isinstance(input, (str, list)):
                raise ValueError("decoder_input is required when input is a token tensor")
            decoder_input = self._start_tokens(tokens.shape[0])
        logits = self.decode(decoder_input, self.encode(tokens, one_zero_attention_mask), one_zero_attention_mask)
        return logits if return_type == "logits" else None

    @torch.inference_mode()
    def generate(
        self,
        input: Union[str, torch.Tensor] = "",
        one_zero_attention_mask: Optional[torch.Tensor] = None,
        max_new_tokens: int = 10,
        stop_at_eos: bool = True,
        eos_token_id: Optional[Union[int, list[int]]] = None,
        do_sample: bool = True,
        top_k: Optional[int] = None,
        top_p: Optional[float] = None,
        temperature: float = 1.0,
        freq_penalty: float = 0.0,
        use_past_kv_cache: bool = True,
        return_type: Optional[Literal["input", "str", "tokens"]] = "input",
        verbose: bool = True,
    ) -> Union[str, torch.Tensor]:
        """Decode up to ``max_new_tokens`` tokens after ``decoder_start_token_id``; returns the decoder tokens (or text).

        The encoder runs once; the decoder's self-attention keys and values are cached.
        """
        check_sampling_args(top_k, top_p, temperature, freq_penalty)
        if isinstance(input, str):
            tokens, one_zero_attention_mask = self.to_tokens(input)
        else:
            tokens = self._check_tokens(input, "input")
        encoder_output = self.encode(tokens, one_zero_attention_mask)
        batch = tokens.shape[0]
        decoded = self._start_tokens(batch)
        eos_ids = eos_ids_for(self.tokenizer, eos_token_id, stop_at_eos)
        finished = torch.zeros(batch, dtype=torch.bool, device=decoded.device)
        cache = HookedTransformerKeyValueCache.init_cache(self.cfg, decoded.device, batch) if use_past_kv_cache else None
        step_input = decoded
        for _ in range(max_new_tokens):
            logits = self.decode(step_input if cache is not None else decoded, encoder_output, one_zero_attention_mask, cache)[:, -1]
            next_tokens = next_token_step(logits, decoded, finished, eos_ids, do_sample, top_k, top_p, temperature, freq_penalty)
            decoded = torch.cat([decoded, next_tokens[:, None]], dim=1)
            step_input = next_tokens[:, None]
            if eos_ids and bool(finished.all()):
                break
        if return_type == "str" or (return_type == "input" and isinstance(input, str)):
            if self.tokenizer is None:
                raise ValueError("return_type='str' needs a tokenizer")
            return self.tokenizer.decode(decoded[0], skip_special_tokens=True)
        return decoded

    # ---- loading ---------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        model_name: str,
        hf_model: Any = None,
        device: Union[str, torch.device, None] = None,
        tokenizer: Any = None,
        move_to_device: bool = True,
        dtype: Union[torch.dtype, str] = torch.float32,
        **overrides: Any,
    ) -> "HookedEncoderDecoder":
        """Load a T5 checkpoint (``T5ForConditionalGeneration``): HF id in the cache or a local directory."""
        from transformer_lens.loading.families import t5
        from transformer_lens.loading.pipeline import load_pretrained

        return load_pretrained(
            cls, t5, model_name, hf_model=hf_model, device=device, tokenizer=tokenizer, move_to_device=move_to_device, dtype=dtype, overrides=overrides
        )

    @property
    def W_U(self) -> torch.Tensor:
        """Unembedding ``[d_model, d_vocab]``."""
        return self.unembed.W_U


def _mask_or_none(mask: Optional[torch.Tensor], like: torch.Tensor) -> Optional[torch.Tensor]:
    """The ``"batch pos"`` mask on the model's device, or None when it masks nothing."""
    if mask is None:
        return None
    if mask.shape != like.shape[:2]:
        raise ValueError(f"one_zero_attention_mask shape {tuple(mask.shape)} does not match the input {tuple(like.shape[:2])}")
    mask = mask.to(like.device)
    return None if bool(mask.all()) else mask
