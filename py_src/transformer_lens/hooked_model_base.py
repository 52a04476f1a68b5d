"""HookedModelBase: what HookedTransformer, HookedEncoder and HookedEncoderDecoder share.

Config and tokenizer setup, weight initialisation, checked state-dict loading, token-id checks,
``run_with_cache`` returning an ``ActivationCache`` (with the cache-size check) and the device
moves that keep ``cfg.device``/``cfg.dtype`` in step. Each model class keeps only what is its
own: its modules, forward pass and loading family (``loading/pipeline.load_pretrained`` builds
all three).
"""

from __future__ import annotations

from typing import Any, Optional, Union, cast

import torch

from transformer_lens import memory_budget, weight_processing
from transformer_lens.activation_cache import ActivationCache
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.errors import CheckFailed
from transformer_lens.hook_points import HookedRootModule
from transformer_lens.tokenization import check_token_ids

NEEDS_TOKENIZER = "Must provide a tokenizer if d_vocab is not provided (set d_vocab in the config or pass tokenizer=...)"


class HookedModelBase(HookedRootModule):
    """A hooked model configured by a ``HookedTransformerConfig`` (subclasses build the modules)."""

    cfg: HookedTransformerConfig
    tokenizer: Any
    #: False for models whose blocks cannot be split over several devices.
    supports_multiple_devices = False
    #: Added to the error for floating-point token input (models that take ``start_at_layer``).
    float_input_hint = " (to start from a residual stream, pass start_at_layer)"
    #: Whether ``run_with_cache`` estimates the cache's size first; that needs every hook's shape
    #: in ``hook_names``, which the T5 stacks' hooks are not.
    checks_cache_budget = True

    # ---- construction ----------------------------------------------------------------
    @classmethod
    def config_from(cls, cfg: Union[HookedTransformerConfig, dict[str, Any], str]) -> HookedTransformerConfig:
        """The config object for ``cfg`` (a dict or config), refusing what this class cannot build."""
        if isinstance(cfg, str):
            raise ValueError(
                f"{cls.__name__} takes a config (dict or HookedTransformerConfig); "
                f"to load a pretrained model use {cls.__name__}.from_pretrained()"
            )
        config = HookedTransformerConfig.unwrap(cfg)
        if config.n_devices != 1 and not cls.supports_multiple_devices:
            raise ValueError(f"{cls.__name__} does not support n_devices > 1")
        return config

    def init_config(self, cfg: Union[HookedTransformerConfig, dict[str, Any], str], tokenizer: Any) -> HookedTransformerConfig:
        """First step of an encoder's ``__init__``: ``self.cfg``, ``self.tokenizer`` (given or named) and the vocabulary size."""
        self.cfg = self.config_from(cfg)
        self.tokenizer = self.named_tokenizer(tokenizer)
        self.fill_vocab_from_tokenizer()
        return self.cfg

    def finish_init(self, move_to_device: bool) -> None:
        """Last step of every model's ``__init__``: initial weights (if ``cfg.init_weights``), placement, hook names."""
        if self.cfg.init_weights:
            self.init_weights()
        if move_to_device:
            self.move_model_modules_to_device()
        self.setup()

    def named_tokenizer(self, tokenizer: Any) -> Any:
        """``tokenizer``, or when None the one ``cfg.tokenizer_name`` names (None if it names none)."""
        if tokenizer is None and self.cfg.tokenizer_name is not None:
            from transformers import AutoTokenizer

            return AutoTokenizer.from_pretrained(self.cfg.tokenizer_name)
        return tokenizer

    def fill_vocab_from_tokenizer(self) -> None:
        """``cfg.d_vocab`` (and an unset ``d_vocab_out``) from the tokenizer when the config leaves it -1."""
        if self.cfg.d_vocab == -1:
            if self.tokenizer is None:
                raise CheckFailed(NEEDS_TOKENIZER)
            self.cfg.d_vocab = max(self.tokenizer.vocab_size, len(self.tokenizer))
        if self.cfg.d_vocab_out == -1:
            self.cfg.d_vocab_out = self.cfg.d_vocab

    def init_weights(self) -> None:
        """Weights (``W...``, relative position tables) ~ N(0, initializer_range), norm scales ``w`` 1, biases 0.

        Learned activation parameters (xIELU's ``act_fn``) keep their own initial values. Draws
        follow parameter order from one generator seeded by ``cfg.seed``, so a seed fixes the model.
        """
        generator = torch.Generator().manual_seed(self.cfg.seed) if self.cfg.seed is not None else None
        with torch.no_grad():
            for name, param in self.named_parameters():
                leaf = name.rsplit(".", 1)[-1]
                if leaf.lstrip("_").startswith("W") or name.endswith("rel_pos_bias.weight"):
                    param.copy_(torch.randn(param.shape, generator=generator) * self.cfg.initializer_range)
                elif ".act_fn." in name:
                    continue
                elif leaf == "w":
                    param.fill_(1.0)
                else:
                    param.zero_()

    def load_state_dict_checked(self, state_dict: dict[str, torch.Tensor]) -> None:
        """``load_state_dict`` that names the first missing, unexpected or mis-shaped tensor."""
        state_dict = weight_processing.normalize_kv_names(state_dict, self.cfg)
        own = self.state_dict()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if missing or unexpected:
            parts = []
            if missing:
                parts.append(f"missing {missing[:5]}")
            if unexpected:
                parts.append(f"unexpected {unexpected[:5]}")
            raise ValueError(f"Checkpoint does not match the model config: {'; '.join(parts)}")
        for key, value in state_dict.items():
            if own[key].shape != value.shape:
                raise ValueError(
                    f"Checkpoint tensor {key} has shape {tuple(value.shape)} but the config implies {tuple(own[key].shape)}"
                )
        self.load_state_dict(state_dict, strict=True)

    # ---- input -----------------------------------------------------------------------
    def max_positions(self) -> Optional[int]:
        """The longest sequence the model takes: ``n_ctx`` with learned positional embeddings, else no limit."""
        learned = self.cfg.positional_embedding_type in ("standard", "shortformer")
        return self.cfg.n_ctx if learned else None

    def _check_tokens(self, tokens: Any, what: str = "") -> torch.Tensor:
        """Token ids ``"batch pos"`` (int64, on the embedding's device) or a one-line error (prefixed by ``what``)."""
        try:
            checked = check_token_ids(tokens, self.cfg.d_vocab, self.max_positions(), float_hint=self.float_input_hint)
        except (TypeError, ValueError) as error:
            if not what:
                raise
            raise type(error)(f"{what}: {error}") from None
        return checked.to(self.W_E.device)

    def _check_residual(self, residual: Any) -> torch.Tensor:
        """The residual stream ``"batch pos d_model"`` a forward with ``start_at_layer`` starts from, or a one-line error."""
        if not isinstance(residual, torch.Tensor) or residual.ndim != 3 or residual.shape[-1] != self.cfg.d_model:
            shape = tuple(residual.shape) if isinstance(residual, torch.Tensor) else type(residual).__name__
            raise ValueError(f"with start_at_layer, input must be a residual stream [batch, pos, d_model], got {shape}")
        return residual

    # ---- caching ---------------------------------------------------------------------
    def run_with_cache(  # type: ignore[override]
        self,
        *model_args: Any,
        return_cache_object: bool = True,
        remove_batch_dim: bool = False,
        max_memory_mb: Optional[float] = None,
        **kwargs: Any,
    ) -> tuple[Any, Union[ActivationCache, dict[str, torch.Tensor]]]:
        """Run the model and return ``(output, ActivationCache)`` (a plain dict if ``return_cache_object=False``).

        Before anything runs, the cache's size is computed from the hook shapes, the input's batch
        and positions and ``cfg.dtype`` (after ``names_filter`` and ``pos_slice``); over
        ``max_memory_mb`` (default: the memory free on the cache's device, ``device=`` or the
        model's) it raises a one-line ``MemoryError`` and attaches nothing. ``device="cpu"`` moves
        each activation off the model's device as its hook fires. See docs/scaling.md.
        """
        if self.checks_cache_budget:
            cache_options = dict(kwargs, remove_batch_dim=remove_batch_dim)
            memory_budget.check_cache_fits(self, model_args, kwargs, cache_options, max_memory_mb)
        elif max_memory_mb is not None:
            raise ValueError(f"{type(self).__name__}.run_with_cache does not take max_memory_mb: its cache size is not estimated")
        out, cache_dict = super().run_with_cache(*model_args, remove_batch_dim=remove_batch_dim, **kwargs)
        if return_cache_object:
            return out, ActivationCache(cache_dict, self, has_batch_dim=not remove_batch_dim)
        return out, cache_dict

    # ---- devices ---------------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> Any:  # the subclass itself (nn.Module.to's contract)
        device = torch._C._nn._parse_to(*args, **kwargs)[0]
        result = super().to(*args, **kwargs)
        if device is not None and (self.cfg.n_devices > 1 or self.cfg.device_map is not None):
            # The whole model is now on one device: its blocks are no longer split (n_devices, device_map).
            self.cfg.n_devices, self.cfg.device_map = 1, None
        param = next(self.parameters())
        self.cfg.device = param.device.type if param.device.index is None else str(param.device)
        self.cfg.dtype = param.dtype
        return result

    def cuda(self, device: Any = None) -> Any:
        return self.to(f"cuda:{device}" if isinstance(device, int) else device or "cuda")

    def cpu(self) -> Any:
        return self.to("cpu")

    def mps(self) -> Any:
        """The model on Apple's MPS device."""
        return self.to("mps")

    def move_model_modules_to_device(self) -> None:
        """Put the model on ``cfg.device`` (HookedTransformer also splits blocks over ``n_devices``)."""
        self.to(self.cfg.device)

    @property
    def W_E(self) -> torch.Tensor:
        """Token embeddings ``[d_vocab, d_model]``."""
        return cast(torch.Tensor, self.get_submodule("embed").W_E)
