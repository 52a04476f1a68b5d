"""HookedEncoder.from_pretrained: name -> checkpoint -> BERT config -> converted tensors -> model."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Optional, Union

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading import hf_io, streaming
from transformer_lens.loading.families import bert
from transformer_lens.loading.tensor_source import InMemorySource, TensorSource
from transformer_lens.loading.pipeline import arguments_of, as_dtype, check_model_name, split_overrides

_TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer_config.json")


def load_encoder(
    model_class: type,
    model_name: str,
    *,
    checkpoint_index: Optional[int],
    checkpoint_value: Optional[int],
    hf_model: Any,
    device: Union[str, torch.device, None],
    tokenizer: Any,
    move_to_device: bool,
    dtype: Union[torch.dtype, str],
    overrides: dict[str, Any],
) -> Any:
    if checkpoint_index is not None or checkpoint_value is not None:
        raise ValueError("Training checkpoints (checkpoint_index/checkpoint_value) are not supported")
    overrides = dict(overrides)
    if overrides.pop("load_in_8bit", False) or overrides.pop("load_in_4bit", False):
        raise ValueError("Quantization (load_in_8bit/load_in_4bit) is not supported by HookedEncoder")
    dtype = as_dtype(overrides.pop("torch_dtype", dtype))
    model_name = check_model_name(model_name)  # a pathlib.Path to a checkpoint directory works too
    official = bert.official_name(model_name)
    checkpoint_dir = _find_checkpoint(model_name, official, required=hf_model is None)
    hf_config = hf_model.config if hf_model is not None else hf_io.load_hf_config(checkpoint_dir)
    architecture = _architecture(hf_config, hf_model)
    tl_overrides = split_overrides(hf_config, overrides, arguments_of(model_class))
    cfg_dict = bert.config_from_hf(hf_config)
    cfg_dict.update(
        original_architecture=architecture,
        model_name=official or model_name,
        dtype=dtype,
        device=str(device) if device is not None else None,
        init_weights=False,
    )
    cfg_dict.update(tl_overrides)
    cfg = HookedTransformerConfig(**cfg_dict)
    if hf_model is not None:
        tensors: TensorSource = InMemorySource({key: value.detach() for key, value in hf_model.state_dict().items()})
    else:
        tensors = hf_io.open_tensors(checkpoint_dir)
    if architecture in bert.ENCODER_ONLY_ARCHITECTURES:
        warnings.warn(
            f"{model_name} is a {architecture} checkpoint with no MLM head: HookedEncoder loads the encoder only, "
            "so return_type='logits' is unavailable; use return_type=None with run_with_cache or hooks, "
            "or encoder_output() for the final residual stream",
            UserWarning,
            stacklevel=3,
        )
    if tokenizer is None and checkpoint_dir is not None and _has_tokenizer_files(checkpoint_dir):
        tokenizer = hf_io.load_tokenizer(checkpoint_dir)
    model = streaming.load_streamed(model_class, tokenizer, tensors, bert.convert_state_dict, cfg, move_to_device)
    if move_to_device:
        model.to(cfg.device)
    model.eval()
    return model


def _find_checkpoint(model_name: str, official: Optional[str], required: bool) -> Optional[Path]:
    """The checkpoint directory: a local path, else the official id, else the name as given (HF cache or hub).

    ``bert-base-uncased`` and ``google-bert/bert-base-uncased`` are the same hub repo, cached under
    either name, so both are tried.
    """
    candidates = [official, model_name] if official else [model_name]
    first_error: Optional[Exception] = None
    for name in dict.fromkeys(candidates):
        try:
            return hf_io.resolve_checkpoint_dir(name)
        except hf_io.CheckpointNotFoundError as error:
            first_error = first_error or error
    if required:
        assert first_error is not None
        raise first_error
    return None


def _has_tokenizer_files(checkpoint_dir: Path) -> bool:
    # transformers 5 builds an empty-vocabulary BertTokenizer for a directory without any.
    return any((checkpoint_dir / name).is_file() for name in _TOKENIZER_FILES)


def _architecture(hf_config: Any, hf_model: Any) -> str:
    architectures = getattr(hf_config, "architectures", None) or ([type(hf_model).__name__] if hf_model is not None else [])
    architecture = architectures[0] if architectures else getattr(hf_config, "model_type", "?")
    if architecture not in bert.HF_ARCHITECTURES:
        raise ValueError(
            f"Architecture {architecture} is not supported by HookedEncoder; supported: "
            f"{', '.join(bert.HF_ARCHITECTURES)} (decoder-only models load with HookedTransformer.from_pretrained)"
        )
    return architecture
