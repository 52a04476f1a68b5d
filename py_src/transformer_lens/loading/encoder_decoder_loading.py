"""HookedEncoderDecoder.from_pretrained: checkpoint -> T5 config -> converted tensors -> model."""

from __future__ import annotations

import os
from typing import Any, Union

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading import hf_io, registry
from transformer_lens.loading.families import t5
from transformer_lens.loading.pipeline import as_dtype, split_overrides


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
        tensors = {key: value.detach() for key, value in hf_model.state_dict().items()}
    else:
        tensors = hf_io.read_tensors(checkpoint_dir)
    try:
        state_dict = {key: value.to(cfg.dtype) for key, value in t5.convert_state_dict(tensors, cfg).items()}
    except KeyError as error:
        raise ValueError(f"Checkpoint lacks tensor {error.args[0]!r} that its config ({architecture}) needs") from None
    if tokenizer is None and checkpoint_dir is not None:
        tokenizer = hf_io.load_tokenizer(checkpoint_dir)
    model = model_class(cfg, tokenizer, move_to_device=False)
    model.load_state_dict_checked(state_dict)
    if move_to_device:
        model.to(cfg.device)
    model.eval()
    return model
