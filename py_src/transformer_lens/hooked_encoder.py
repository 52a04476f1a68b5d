"""HookedEncoder: a BERT-style (bidirectional, post-LN) encoder with a hook point on every activation.

API-compatible with upstream TransformerLens's ``HookedEncoder``: ``to_tokens`` returns
``(tokens, token_type_ids, attention_mask)``; ``forward(input, return_type, token_type_ids,
one_zero_attention_mask)`` returns MLM logits, ``"predictions"`` or None; ``encoder_output``
gives the final residual stream. Attention, MLP and norms are the shared components
(``components/bert.py`` wires them); ``loading/families/bert.py`` converts checkpoints.
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

import torch
import torch.nn as nn

from transformer_lens.components.bert import BertBlock, BertEmbed, BertMLMHead, BertNSPHead, BertPooler
from transformer_lens.components.embed import Unembed
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.errors import CheckFailed
from transformer_lens.hook_points import HookPoint
from transformer_lens.hooked_model_base import HookedModelBase
from transformer_lens.loading.families import bert as bert_family
from transformer_lens.weight_properties import WeightPropertiesMixin

# Upstream configures encoders with HookedTransformerConfig too; the alias keeps the name importable.
HookedEncoderConfig = HookedTransformerConfig

EncoderReturnType = Optional[Literal["logits", "predictions"]]
RETURN_TYPES = ("logits", "predictions", None)
EncoderInput = Union[str, list, torch.Tensor]


class HookedEncoder(WeightPropertiesMixin, HookedModelBase):
    """A hooked BERT encoder with its masked-language-modelling head.

    Hook names: ``hook_full_embed`` (the encoder input), ``embed.hook_embed`` /
    ``hook_pos_embed`` / ``hook_token_type_embed``, and per block the names of
    HookedTransformer's blocks (``blocks.{i}.hook_resid_pre``, ``attn.hook_pattern``, ...) plus
    ``blocks.{i}.hook_normalized_resid_post``, the block output. LayerNorms come after attention
    (``ln1``) and after the MLP (``ln2``), so they cannot be folded; weights are loaded as-is.
    A model loaded from a plain ``BertModel`` checkpoint has no ``mlm_head``/``unembed``.
    """

    def __init__(
        self,
        cfg: Union[HookedTransformerConfig, dict],
        tokenizer: Any = None,
        move_to_device: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        cfg = self.init_config(cfg, tokenizer)
        self.embed = BertEmbed(cfg)
        self.hook_full_embed = HookPoint()  # [batch, pos, d_model]
        self.blocks = nn.ModuleList([BertBlock(cfg, index) for index in range(cfg.n_layers)])
        if self.has_mlm_head:
            self.mlm_head = BertMLMHead(cfg)
            self.unembed = Unembed(cfg)
        if cfg.original_architecture in bert_family.NSP_ARCHITECTURES:
            self.pooler = BertPooler(cfg)
            self.nsp_head = BertNSPHead(cfg)
        self.finish_init(move_to_device)

    @property
    def has_mlm_head(self) -> bool:
        """False for models loaded from a ``BertModel`` or ``BertForNextSentencePrediction`` checkpoint (no MLM logits then)."""
        return self.cfg.original_architecture not in bert_family.NO_MLM_HEAD_ARCHITECTURES

    # ---- tokenization ----------------------------------------------------------------
    def to_tokens(
        self, input: Union[str, list[str]], move_to_device: bool = True, truncate: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Text -> ``(tokens, token_type_ids, attention_mask)``, each ``"batch pos"``.

        The BERT tokenizer adds ``[CLS]`` and ``[SEP]`` and right-pads a batch; with ``truncate``
        sequences are cut to ``n_ctx`` tokens.
        """
        if self.tokenizer is None:
            raise CheckFailed("This model has no tokenizer: pass one to from_pretrained(tokenizer=...) or pass token ids")
        encodings = self.tokenizer(
            input,
            return_tensors="pt",
            padding=True,
            truncation=truncate,
            max_length=self.cfg.n_ctx if truncate else None,
        )
        tokens = encodings["input_ids"]
        token_type_ids = encodings.get("token_type_ids")
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(tokens)
        attention_mask = encodings["attention_mask"]
        if move_to_device:
            device = self.cfg.device
            tokens, token_type_ids, attention_mask = tokens.to(device), token_type_ids.to(device), attention_mask.to(device)
        return tokens, token_type_ids, attention_mask

    # ---- forward ---------------------------------------------------------------------
    def encoder_output(
        self,
        tokens: torch.Tensor,
        token_type_ids: Optional[torch.Tensor] = None,
        one_zero_attention_mask: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Token ids ``"batch pos"`` -> the final residual stream ``"batch pos d_model"``."""
        return self._run_blocks(self._embed(self._check_tokens(tokens), token_type_ids), one_zero_attention_mask)

    def _embed(self, tokens: torch.Tensor, token_type_ids: Optional[torch.Tensor]) -> torch.Tensor:
        if token_type_ids is not None:
            token_type_ids = token_type_ids.to(tokens.device)
            if token_type_ids.shape != tokens.shape:
                raise ValueError(f"token_type_ids shape {tuple(token_type_ids.shape)} does not match tokens {tuple(tokens.shape)}")
        return self.hook_full_embed(self.embed(tokens, token_type_ids))

    def _run_blocks(
        self,
        residual: torch.Tensor,
        one_zero_attention_mask: Optional[torch.Tensor],
        start_at_layer: Optional[int] = None,
        stop_at_layer: Optional[int] = None,
    ) -> torch.Tensor:
        mask = one_zero_attention_mask
        if mask is not None:
            mask = mask.to(residual.device)
            if mask.shape != residual.shape[:2]:
                raise ValueError(
                    f"one_zero_attention_mask shape {tuple(mask.shape)} does not match [batch, pos] {tuple(residual.shape[:2])}"
                )
            if bool(mask.all()):
                mask = None  # nothing masked: let attention take its fast unmasked path
        for block in self.blocks[start_at_layer:stop_at_layer]:
            residual = block(residual, attention_mask=mask)
        return residual

    def forward(
        self,
        input: EncoderInput,
        return_type: EncoderReturnType = "logits",
        token_type_ids: Optional[torch.Tensor] = None,
        one_zero_attention_mask: Optional[torch.Tensor] = None,
        *,
        start_at_layer: Optional[int] = None,
        stop_at_layer: Optional[int] = None,
    ) -> Any:
        """Run the encoder (and the MLM head).

        ``input`` is text (tokenized with ``to_tokens``, whose token types and mask are used
        unless given), token ids ``"batch pos"``, or with ``start_at_layer`` the residual stream
        ``"batch pos d_model"`` entering that block. Returns logits ``"batch pos d_vocab"``,
        ``"predictions"`` (the decoded top token at each ``[MASK]``: a string for one mask, else a
        list of ``"Prediction i: token"``), None, or with ``stop_at_layer`` the residual stream
        entering that block.
        """
        if return_type not in RETURN_TYPES:
            raise ValueError(f"return_type must be one of {RETURN_TYPES}, got {return_type!r}")
        tokens = None
        if start_at_layer is not None:
            residual = self._check_residual(input)
        else:
            if isinstance(input, (str, list)):
                tokens, text_types, text_mask = self.to_tokens(input)
                token_type_ids = text_types if token_type_ids is None else token_type_ids
                one_zero_attention_mask = text_mask if one_zero_attention_mask is None else one_zero_attention_mask
            tokens = self._check_tokens(input if tokens is None else tokens)
            residual = self._embed(tokens, token_type_ids)
        residual = self._run_blocks(residual, one_zero_attention_mask, start_at_layer, stop_at_layer)
        if stop_at_layer is not None:
            return residual
        if return_type is None:
            return None
        logits = self.unembed(self.mlm_head(residual)) if self._require_mlm_head() else None
        if return_type == "predictions":
            return self._predictions(tokens, logits)
        return logits

    def _require_mlm_head(self) -> bool:
        if not self.has_mlm_head:
            raise ValueError(
                f"{self.cfg.model_name} was loaded from a {self.cfg.original_architecture} checkpoint, which has no MLM "
                "head, so there are no logits: use return_type=None (with run_with_cache or hooks) or "
                "encoder_output() for the final residual stream"
            )
        return True

    def _predictions(self, tokens: Optional[torch.Tensor], logits: torch.Tensor) -> Union[str, list[str]]:
        if self.tokenizer is None or tokens is None:
            raise ValueError("return_type='predictions' needs a tokenizer and token input")
        predicted = logits[tokens == self.tokenizer.mask_token_id].argmax(dim=-1).tolist()
        words = [self.tokenizer.decode([token_id]) for token_id in predicted]
        if len(words) == 1:
            return words[0]
        return [f"Prediction {index}: {word}" for index, word in enumerate(words)]

    # ---- loading ---------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        model_name: str,
        checkpoint_index: Optional[int] = None,
        checkpoint_value: Optional[int] = None,
        hf_model: Any = None,
        device: Union[str, torch.device, None] = None,
        tokenizer: Any = None,
        move_to_device: bool = True,
        dtype: Union[torch.dtype, str] = torch.float32,
        **from_pretrained_kwargs: Any,
    ) -> "HookedEncoder":
        """Load a BERT checkpoint: official name or alias (``bert-base-uncased``), HF id in the cache, or local directory.

        ``BertForMaskedLM`` and ``BertForPreTraining`` load with their MLM head; a plain
        ``BertModel`` loads with a warning and no head. Keyword overrides are BertConfig keys or
        HookedTransformerConfig fields. Weights are not processed (post-LN norms cannot be folded).
        """
        from transformer_lens.loading.pipeline import load_pretrained

        return load_pretrained(
            cls,
            bert_family,
            model_name,
            checkpoint_index=checkpoint_index,
            checkpoint_value=checkpoint_value,
            hf_model=hf_model,
            device=device,
            tokenizer=tokenizer,
            move_to_device=move_to_device,
            dtype=dtype,
            overrides=from_pretrained_kwargs,
        )

    # ---- weights (the stacked block weights come from WeightPropertiesMixin) ---------
    @property
    def W_E(self) -> torch.Tensor:
        """Token embeddings ``[d_vocab, d_model]``."""
        return self.embed.embed.W_E

    @property
    def W_pos(self) -> torch.Tensor:
        """Positional embeddings ``[n_ctx, d_model]``."""
        return self.embed.pos_embed.W_pos

    @property
    def W_token_type(self) -> torch.Tensor:
        """Token-type embeddings ``[type_vocab_size, d_model]``."""
        return self.embed.token_type_embed.W_token_type

    @property
    def W_U(self) -> torch.Tensor:
        """Unembedding ``[d_model, d_vocab]`` (applied after the MLM head)."""
        self._require_mlm_head()
        return self.unembed.W_U

    @property
    def b_U(self) -> torch.Tensor:
        self._require_mlm_head()
        return self.unembed.b_U
