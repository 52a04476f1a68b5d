"""HookedTransformer: a decoder-only transformer in which every activation has a hook point.

One forward implementation serves every architecture; families differ only in config and
weight conversion (``loading/families``). Tokenization, generation and the stacked weight
views live in mixins of their own.
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

import torch
import torch.nn as nn

from transformer_lens import devices, weight_processing
from transformer_lens.components import Embed, PosEmbed, TransformerBlock, Unembed
from transformer_lens.components.norms import make_final_norm, make_mlp_norm, make_norm
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.generation import GenerationMixin
from transformer_lens.hook_points import HookPoint
from transformer_lens.hooked_model_base import HookedModelBase
from transformer_lens.hook_switches import HookSwitchesMixin
from transformer_lens.kv_cache import HookedTransformerKeyValueCache, get_pos_offset
from transformer_lens.loss import lm_cross_entropy_loss
from transformer_lens.model_extras import ModelExtrasMixin
from transformer_lens.tokenization import PaddingSide, TokenizationMixin
from transformer_lens.utils import get_attention_mask
from transformer_lens.weight_properties import WeightPropertiesMixin

ReturnType = Optional[Literal["logits", "loss", "both"]]
RETURN_TYPES = ("logits", "loss", "both", None)


class HookedTransformer(
    TokenizationMixin, GenerationMixin, WeightPropertiesMixin, HookSwitchesMixin, ModelExtrasMixin, HookedModelBase
):
    """A hooked decoder-only transformer (GPT-2 and friends), API-compatible with TransformerLens 3.x."""

    supports_multiple_devices = True

    def __init__(
        self,
        cfg: Union[HookedTransformerConfig, dict],
        tokenizer: Any = None,
        move_to_device: bool = True,
        default_padding_side: PaddingSide = "right",
    ) -> None:
        super().__init__()
        cfg = self.config_from(cfg)
        self.cfg = cfg
        self.tokenizer = None
        tokenizer = self.named_tokenizer(tokenizer)
        if tokenizer is not None:
            self.set_tokenizer(tokenizer, default_padding_side)
        self.fill_vocab_from_tokenizer()
        self.embed = Embed(cfg)
        self.hook_embed = HookPoint()  # [batch, pos, d_model]
        if cfg.positional_embedding_type in ("standard", "shortformer"):
            self.pos_embed = PosEmbed(cfg)
            self.hook_pos_embed = HookPoint()  # [batch, pos, d_model]
        if cfg.use_hook_tokens:
            self.hook_tokens = HookPoint()  # [batch, pos]
        self.blocks = nn.ModuleList([TransformerBlock(cfg, index) for index in range(cfg.n_layers)])
        # Post-LN blocks end in a norm already (OPT-350m has no final one).
        self.ln_final = make_final_norm(cfg) if cfg.normalization_type is not None and not cfg.post_layer_norm else None
        self.unembed = Unembed(cfg)
        self.finish_init(move_to_device)

    # ---- construction (init_weights, load_state_dict_checked: HookedModelBase) ---------
    @classmethod
    def from_pretrained(
        cls,
        model_name: str,
        fold_ln: bool = True,
        center_writing_weights: bool = True,
        center_unembed: bool = True,
        refactor_factored_attn_matrices: bool = False,
        checkpoint_index: Optional[int] = None,
        checkpoint_value: Optional[int] = None,
        hf_model: Any = None,
        device: Union[str, torch.device, None] = None,
        n_devices: int = 1,
        tokenizer: Any = None,
        move_to_device: bool = True,
        fold_value_biases: bool = True,
        default_prepend_bos: Optional[bool] = None,
        default_padding_side: PaddingSide = "right",
        dtype: Union[torch.dtype, str] = "float32",
        first_n_layers: Optional[int] = None,
        revision: Optional[str] = None,
        trust_remote_code: bool = False,
        **overrides: Any,
    ) -> "HookedTransformer":
        """Load a checkpoint (official name, alias, HF id in the cache, local directory or embedded model).

        ``overrides`` are Hugging Face config keys (``activation_function="relu"``) or
        HookedTransformerConfig fields; any other key raises ``TypeError`` naming it (and the
        closest known flag). ``first_n_layers=k`` keeps the first ``k`` blocks (1 <= k <= n_layers),
        with the final norm and unembedding; ``dtype`` is float32, float16, bfloat16 or float64.
        Blocks go to ``device``, split over ``n_devices`` consecutive devices, or where the config
        field ``device_map`` says (``device_map={0: "cuda:0", 1: "cuda:1", ...}``, a list, or
        ``"auto"``: ``transformer_lens.device_map``); each weight is streamed straight to its device.
        """
        from transformer_lens.loading.pipeline import load_pretrained

        return load_pretrained(
            cls,
            None,
            model_name,
            fold_ln=fold_ln,
            center_writing_weights=center_writing_weights,
            center_unembed=center_unembed,
            refactor_factored_attn_matrices=refactor_factored_attn_matrices,
            fold_value_biases=fold_value_biases,
            checkpoint_index=checkpoint_index,
            checkpoint_value=checkpoint_value,
            hf_model=hf_model,
            device=device,
            n_devices=n_devices,
            tokenizer=tokenizer,
            move_to_device=move_to_device,
            default_prepend_bos=default_prepend_bos,
            default_padding_side=default_padding_side,
            dtype=dtype,
            first_n_layers=first_n_layers,
            revision=revision,
            trust_remote_code=trust_remote_code,
            overrides=overrides,
        )

    @classmethod
    def from_pretrained_no_processing(cls, model_name: str, **kwargs: Any) -> "HookedTransformer":
        """``from_pretrained`` with every weight-processing step off: the checkpoint's own weights."""
        for flag in ("fold_ln", "center_writing_weights", "center_unembed", "fold_value_biases"):
            kwargs.setdefault(flag, False)
        return cls.from_pretrained(model_name, **kwargs)

    def load_and_process_state_dict(
        self,
        state_dict: dict[str, torch.Tensor],
        fold_ln: bool = True,
        center_writing_weights: bool = True,
        center_unembed: bool = True,
        fold_value_biases: bool = True,
        refactor_factored_attn_matrices: bool = False,
    ) -> None:
        """Process a TransformerLens-format state dict and load it (the config is updated to match)."""
        state_dict = weight_processing.process_state_dict(
            state_dict,
            self.cfg,
            fold_ln=fold_ln,
            center_writing_weights=center_writing_weights,
            center_unembed=center_unembed,
            fold_value_biases=fold_value_biases,
            refactor_factored_attn_matrices=refactor_factored_attn_matrices,
        )
        if fold_ln and weight_processing.can_fold_ln(self.cfg):
            self._swap_norms(self.cfg.normalization_type + "Pre")
        self.load_state_dict_checked(state_dict)

    def process_weights_(
        self,
        fold_ln: bool = True,
        center_writing_weights: bool = True,
        center_unembed: bool = True,
        refactor_factored_attn_matrices: bool = False,
        fold_value_biases: bool = True,
    ) -> None:
        """Apply weight processing to this model's current weights in place."""
        self.load_and_process_state_dict(
            {k: v.detach().clone() for k, v in self.state_dict().items()},
            fold_ln=fold_ln,
            center_writing_weights=center_writing_weights,
            center_unembed=center_unembed,
            fold_value_biases=fold_value_biases,
            refactor_factored_attn_matrices=refactor_factored_attn_matrices,
        )

    def _swap_norms(self, normalization_type: str) -> None:
        """Replace learned norms by their weightless version once weights are folded."""
        self.cfg.normalization_type = normalization_type
        device = self.W_E.device
        for block in self.blocks:
            block.ln1 = make_norm(self.cfg).to(device)
            if not self.cfg.attn_only:
                block.ln2 = make_norm(self.cfg).to(device)
                if getattr(block.mlp, "ln", None) is not None:  # SoLU's LayerNorm over d_mlp is folded too
                    block.mlp.ln = make_mlp_norm(self.cfg, block.mlp.W_out.shape[0]).to(device)
        if self.ln_final is not None:
            self.ln_final = make_final_norm(self.cfg).to(device)
        self.setup()

    # ---- forward ---------------------------------------------------------------------
    def input_to_embed(
        self,
        input: Union[str, list[str], torch.Tensor],
        prepend_bos: Optional[bool] = None,
        padding_side: Optional[PaddingSide] = None,
        attention_mask: Optional[torch.Tensor] = None,
        past_kv_cache: Optional[HookedTransformerKeyValueCache] = None,
    ) -> tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor], Optional[torch.Tensor]]:
        """The embedded residual stream ``"batch pos d_model"``, the tokens ``"batch pos"``, the
        shortformer positional embedding ``"batch pos d_model"`` (None unless the model is a
        shortformer, whose blocks add it to their query and key inputs only) and the
        attention mask ``"batch pos"`` (None when nothing is masked), in upstream 3.x's order.

        Token ids with no ``attention_mask`` get one inferred from the tokenizer's pad token when
        the padding side is left or a KV cache is in use (as upstream does): only the run of pads
        at the padded end is masked.
        """
        if isinstance(input, (str, list)):
            tokens, string_mask = self._tokenize(input, prepend_bos, padding_side)
            if attention_mask is None and (past_kv_cache is not None or not bool(string_mask.all())):
                attention_mask = string_mask
        else:
            tokens = input
        tokens = self._check_tokens(tokens)
        device = self.W_E.device
        tokens = tokens.to(device)
        if attention_mask is None and isinstance(input, torch.Tensor):
            attention_mask = self._inferred_padding_mask(tokens, prepend_bos, padding_side, past_kv_cache is not None)
        if attention_mask is not None:
            attention_mask = attention_mask.to(device)
            if attention_mask.shape != tokens.shape:
                raise ValueError(
                    f"attention_mask shape {tuple(attention_mask.shape)} does not match tokens {tuple(tokens.shape)}"
                )
        if past_kv_cache is not None:
            step_mask = attention_mask if attention_mask is not None else torch.ones_like(tokens)
            attention_mask = past_kv_cache.append_attention_mask(step_mask)
        offset = get_pos_offset(past_kv_cache, tokens.shape[0])
        if self.cfg.use_hook_tokens:
            tokens = self.hook_tokens(tokens)
        residual = self.hook_embed(self.embed(tokens))
        shortformer_pos_embed = None
        if self.cfg.positional_embedding_type == "standard":
            residual = residual + self.hook_pos_embed(self.pos_embed(tokens, offset, attention_mask))
        elif self.cfg.positional_embedding_type == "shortformer":
            shortformer_pos_embed = self.hook_pos_embed(self.pos_embed(tokens, offset, attention_mask))
        return residual, tokens, shortformer_pos_embed, attention_mask
    def _inferred_padding_mask(
        self, tokens: torch.Tensor, prepend_bos: Optional[bool], padding_side: Optional[PaddingSide], caching: bool
    ) -> Optional[torch.Tensor]:
        """Mask of the pad run at the padded end of token ids, or None when it masks nothing."""
        if self.tokenizer is None or self.tokenizer.pad_token_id is None:
            return None
        side = padding_side or self.tokenizer.padding_side
        if side != "left" and not caching:
            return None  # right padding: causal attention already keeps pads out of real positions
        prepend_bos = self.cfg.default_prepend_bos if prepend_bos is None else prepend_bos
        mask = get_attention_mask(self.tokenizer, tokens, prepend_bos, side)
        return mask if caching or not bool(mask.all()) else None

    def forward(
        self,
        input: Union[str, list[str], torch.Tensor],
        return_type: ReturnType = "logits",
        loss_per_token: bool = False,
        prepend_bos: Optional[bool] = None,
        padding_side: Optional[PaddingSide] = None,
        start_at_layer: Optional[int] = None,
        tokens: Optional[torch.Tensor] = None,
        shortformer_pos_embed: Optional[torch.Tensor] = None,
        attention_mask: Optional[torch.Tensor] = None,
        stop_at_layer: Optional[int] = None,
        past_kv_cache: Optional[HookedTransformerKeyValueCache] = None,
    ) -> Any:
        """Run the model.

        ``input`` is text, token ids ``"batch pos"``, or, with ``start_at_layer``, the residual
        stream ``"batch pos d_model"`` entering that block. Returns logits
        ``"batch pos d_vocab"``, the loss, both, None, or with ``stop_at_layer`` the residual
        stream entering that block.
        """
        if return_type not in RETURN_TYPES:
            raise ValueError(f"return_type must be one of {RETURN_TYPES}, got {return_type!r}")
        if start_at_layer is None:
            residual, tokens, shortformer_pos_embed, attention_mask = self.input_to_embed(
                input, prepend_bos, padding_side, attention_mask, past_kv_cache
            )
        else:
            residual = self._check_residual(input)
        blocks = range(self.cfg.n_layers)[start_at_layer:stop_at_layer]
        multi_device = self.cfg.n_devices > 1
        for index in blocks:
            entry = past_kv_cache.entries[index] if past_kv_cache is not None else None
            if multi_device:
                block_device = devices.get_device_for_block_index(index, self.cfg)
                residual = residual.to(block_device)
                attention_mask = attention_mask.to(block_device) if attention_mask is not None else None
            if multi_device and shortformer_pos_embed is not None:
                shortformer_pos_embed = shortformer_pos_embed.to(residual.device)
            residual = self.blocks[index](
                residual,
                past_kv_cache_entry=entry,
                attention_mask=attention_mask,
                shortformer_pos_embed=shortformer_pos_embed,
            )
        if stop_at_layer is not None:
            return residual
        if multi_device:
            residual = residual.to(self.unembed.W_U.device)
        if self.ln_final is not None:
            residual = self.ln_final(residual)
        if return_type is None:
            return None
        logits = self.unembed(residual)
        if self.cfg.output_logits_soft_cap > 0:
            cap = self.cfg.output_logits_soft_cap
            logits = cap * torch.tanh(logits / cap)
        if return_type == "logits":
            return logits
        if tokens is None:
            raise ValueError("return_type='loss' with start_at_layer needs tokens=... for the targets")
        loss = lm_cross_entropy_loss(logits, tokens, attention_mask, loss_per_token)
        return loss if return_type == "loss" else (logits, loss)

    def loss_fn(self, logits: torch.Tensor, tokens: torch.Tensor, attention_mask=None, per_token: bool = False):
        return lm_cross_entropy_loss(logits, tokens, attention_mask, per_token)

    # ---- devices (to, cuda, cpu, mps: HookedModelBase) ---------------------------------------------------------------------
    def move_model_modules_to_device(self) -> None:
        """Put each module on its device: all on ``cfg.device``, or blocks split over ``n_devices``."""
        devices.check_device_count(self.cfg)
        if self.cfg.n_devices <= 1:
            self.to(self.cfg.device)
            return
        first = devices.get_device_for_block_index(0, self.cfg)
        last = devices.get_device_for_block_index(self.cfg.n_layers - 1, self.cfg)
        self.embed.to(first)
        if hasattr(self, "pos_embed"):
            self.pos_embed.to(first)
        for index, block in enumerate(self.blocks):
            block.to(devices.get_device_for_block_index(index, self.cfg))
        if self.ln_final is not None:
            self.ln_final.to(last)
        self.unembed.to(last)
