"""HookedEncoderDecoder.from_pretrained: checkpoint -> T5 config -> converted tensors -> model."""

from __future__ import annotations

import os
from typing import Any, Mapping, Union

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading import hf_io, registry, streaming
from transformer_lens.loading.families import t5
from transformer_lens.loading.pipeline import as_dtype, split_overrides
from transformer_lens.loading.tensor_source import InMemorySource, TensorSource


def load_encoder_decoder(
    model_class: type,
    model_name: str,
    *,
    hf_model: Any,
    device: Union[str, torch.device, None],
    tokenizer: Any,
    move_to_device: bool,
    dtype: Union[torch.dtype, str],
    overrides: dict[str, Any],
) -> Any:
    model_name = os.fspath(model_name)
    if hf_model is None and not os.path.isdir(model_name):
        # A T5 name or alias ("t5-small") -> its hub repo id, as HookedTransformer does for decoders.
        model_name = registry.get_official_model_name(model_name) or model_name
    checkpoint_dir = None if hf_model is not None else hf_io.resolve_checkpoint_dir(model_name)
    hf_config = hf_model.config if hf_model is not None else hf_io.load_hf_config(checkpoint_dir)
    architecture = (getattr(hf_config, "architectures", None) or [type(hf_model).__name__ if hf_model is not None else "?"])[0]
    if architecture not in t5.HF_ARCHITECTURES:
        raise ValueError(
            f"Architecture {architecture} is not supported by HookedEncoderDecoder; supported: {', '.join(t5.HF_ARCHITECTURES)} "
            "(decoder-only models load with HookedTransformer.from_pretrained)"
        )
    tl_overrides = split_overrides(hf_config, overrides)
    cfg_dict = t5.config_from_hf(hf_config)
    cfg_dict.update(
        original_architecture=architecture,
        model_name=model_name,
        dtype=as_dtype(dtype),
        device=str(device) if device is not None else None,
        init_weights=False,
    )
    cfg_dict.update(tl_overrides)
    cfg = HookedTransformerConfig(**cfg_dict)
    if hf_model is not None:
        tensors: TensorSource = InMemorySource({key: value.detach() for key, value in hf_model.state_dict().items()})
    else:
        tensors = hf_io.open_tensors(checkpoint_dir)

    def convert(source: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
        try:
            return t5.convert_state_dict(source, cfg)
        except KeyError as error:
            raise ValueError(f"Checkpoint lacks tensor {error.args[0]!r} that its config ({architecture}) needs") from None

    if tokenizer is None and checkpoint_dir is not None:
        tokenizer = hf_io.load_tokenizer(checkpoint_dir)
    model = streaming.load_streamed(model_class, tokenizer, tensors, convert, cfg, move_to_device)
    if move_to_device:
        model.to(cfg.device)
    model.eval()
    return model
