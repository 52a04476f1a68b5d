"""BertNextSentencePrediction: next-sentence prediction with a HookedEncoder (upstream's wrapper API).

``BertNextSentencePrediction(HookedEncoder.from_pretrained(...))`` on a ``BertForPreTraining`` or
``BertForNextSentencePrediction`` checkpoint: the encoder runs as usual (all its hooks fire), then
the pooler (``pooler.hook_pooler_out``) and the NSP head (``nsp_head.hook_nsp_out``).
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

import torch

from transformer_lens.activation_cache import ActivationCache

PREDICTIONS = ("The sentences are sequential", "The sentences are NOT sequential")


class BertNextSentencePrediction:
    """Wraps a HookedEncoder that has a pooler and an NSP head; hooks live on the wrapped model."""

    def __init__(self, model: Any) -> None:
        if not hasattr(model, "nsp_head"):
            raise ValueError(
                f"{model.cfg.model_name} ({model.cfg.original_architecture}) has no next-sentence head: load a "
                "BertForPreTraining or BertForNextSentencePrediction checkpoint"
            )
        self.model = model

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def to_tokens(self, input: list[str], move_to_device: bool = True, truncate: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Two sentences -> ``(tokens, token_type_ids, attention_mask)``, each ``"1 pos"``: ``[CLS] A [SEP] B [SEP]``."""
        if not isinstance(input, (list, tuple)) or len(input) != 2:
            raise ValueError(
                "Next sentence prediction task requires exactly two sentences: a list [sentence_a, sentence_b]"
            )
        if self.model.tokenizer is None:
            raise ValueError("This model has no tokenizer: pass token ids and token_type_ids")
        max_length = self.model.cfg.n_ctx if truncate else None
        encodings = self.model.tokenizer(input[0], input[1], return_tensors="pt", padding=True, truncation=truncate, max_length=max_length)
        out = encodings["input_ids"], encodings["token_type_ids"], encodings["attention_mask"]
        return tuple(t.to(self.model.cfg.device) for t in out) if move_to_device else out  # type: ignore[return-value]

    def forward(
        self,
        input: Union[list[str], torch.Tensor],
        return_type: Optional[Literal["logits", "predictions"]] = "logits",
        token_type_ids: Optional[torch.Tensor] = None,
        one_zero_attention_mask: Optional[torch.Tensor] = None,
    ) -> Any:
        """NSP logits ``"batch 2"`` (index 0: B follows A), a prediction sentence, or None.

        Token input needs ``token_type_ids`` (0 for sentence A, 1 for B): without them BERT would
        read one sentence.
        """
        if return_type not in ("logits", "predictions", None):
            raise ValueError(f"return_type must be 'logits', 'predictions' or None, got {return_type!r}")
        if isinstance(input, (list, tuple)):
            tokens, text_types, text_mask = self.to_tokens(list(input))
            token_type_ids = text_types if token_type_ids is None else token_type_ids
            one_zero_attention_mask = text_mask if one_zero_attention_mask is None else one_zero_attention_mask
        elif token_type_ids is None:
            raise ValueError(
                "You are using the NSP task without specifying token_type_ids: token ids need them "
                "(0 for sentence A, 1 for sentence B)"
            )
        else:
            tokens = input
        resid = self.model.encoder_output(tokens, token_type_ids, one_zero_attention_mask)
        logits = self.model.nsp_head(self.model.pooler(resid))
        if return_type is None:
            return None
        if return_type == "predictions":
            choices = [PREDICTIONS[int(index)] for index in logits.argmax(dim=-1)]
            return choices[0] if len(choices) == 1 else choices
        return logits

    def run_with_cache(
        self, *args: Any, names_filter: Any = None, return_cache_object: bool = True, remove_batch_dim: bool = False, **kwargs: Any
    ) -> tuple[Any, Union[ActivationCache, dict[str, torch.Tensor]]]:
        """``forward`` with every (filtered) activation of the wrapped model cached."""
        cache, fwd, _ = self.model.get_caching_hooks(names_filter, remove_batch_dim=remove_batch_dim)
        with self.model.hooks(fwd_hooks=fwd):
            out = self.forward(*args, **kwargs)
        if return_cache_object:
            return out, ActivationCache(cache, self.model, has_batch_dim=not remove_batch_dim)
        return out, cache
