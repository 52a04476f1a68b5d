"""Upstream's ``transformer_lens.loading_from_pretrained``, over LensLab's loading pipeline (``transformer_lens.loading``).

Every name that ``transformer_lens.loading`` provides (``OFFICIAL_MODEL_NAMES``, ``get_official_model_name``,
...) is available here too, as the same object. Added here: the steps of ``from_pretrained`` one at a time,
as upstream exposes them (``get_pretrained_model_config``, ``get_pretrained_state_dict``,
``get_checkpoint_labels``), for embedded ``lenslab/...`` models and Hugging Face checkpoints alike.
"""

from __future__ import annotations

import importlib
from typing import Any, Optional, Union

import torch

from transformer_lens._not_provided import not_provided
from transformer_lens.config import HookedTransformerConfig

__all__ = [
    "fill_missing_keys",
    "get_checkpoint_labels",
    "get_num_params_of_pretrained",
    "get_pretrained_model_config",
    "get_pretrained_state_dict",
]

_NOT_PROVIDED = {
    "convert_neel_model_config": "Neel Nanda's hub-hosted toy models are not loaded; train_tiny's embedded lenslab/... models stand in",
    "get_basic_config": "use get_pretrained_model_config(model_name)",
    "NEED_REMOTE_CODE_MODELS": "pass trust_remote_code=True to from_pretrained when a checkpoint needs it",
}


def _loading() -> Any:
    return importlib.import_module("transformer_lens.loading")


def __getattr__(name: str) -> Any:
    if name in _NOT_PROVIDED:
        raise not_provided(f"transformer_lens.loading_from_pretrained.{name}", _NOT_PROVIDED[name])
    if name == "AutoConfig":  # upstream's module imports it; code and tests patch it here
        from transformers import AutoConfig

        return AutoConfig
    if name in ("PYTHIA_CHECKPOINTS", "STANFORD_CRFM_CHECKPOINTS"):
        from transformer_lens.loading import checkpoints

        return list(getattr(checkpoints, name))
    try:
        return getattr(_loading(), name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def _embedded(model_name: str) -> Optional[Any]:
    from transformer_lens.loading import pipeline

    embedded = pipeline._embedded_module()
    return embedded if embedded is not None and embedded.is_embedded(model_name) else None


def _revision(model_name: str, checkpoint_index: Optional[int], checkpoint_value: Optional[int]) -> Optional[str]:
    if checkpoint_index is None and checkpoint_value is None:
        return None
    from transformer_lens.loading import registry

    return registry.checkpoint_revision(model_name, checkpoint_index, checkpoint_value)


def _official_or_given(model_name: str) -> str:
    from transformer_lens.loading import registry

    encoder_error = registry.encoder_name_error(model_name)
    if encoder_error is not None:
        raise encoder_error
    return registry.get_official_model_name(model_name) or model_name


def get_pretrained_model_config(
    model_name: str,
    hf_cfg: Optional[dict] = None,
    checkpoint_index: Optional[int] = None,
    checkpoint_value: Optional[int] = None,
    fold_ln: bool = False,
    device: Optional[Union[str, torch.device]] = None,
    n_devices: int = 1,
    default_prepend_bos: Optional[bool] = None,
    dtype: Union[torch.dtype, str] = torch.float32,
    first_n_layers: Optional[int] = None,
    **kwargs: Any,
) -> HookedTransformerConfig:
    """The config ``from_pretrained(model_name, ...)`` would build, without reading any weights.

    ``hf_cfg`` (a Hugging Face config as a dict) replaces the checkpoint's ``config.json``; ``kwargs``
    override fields of the HF config or of ours. With ``fold_ln``, normalization becomes ``LNPre``/``RMSPre``
    (the weights are folded at load time).
    """
    from transformer_lens.loading import hf_io, pipeline, registry

    official = _official_or_given(model_name)
    embedded = _embedded(model_name)
    if embedded is not None:
        cfg_dict = dict(embedded.read_model_config(model_name)["config"])
        cfg_dict.update(pipeline.split_overrides(None, kwargs))
    else:
        if hf_cfg is not None:
            from transformers import AutoConfig

            hf_config = AutoConfig.for_model(**hf_cfg)
        else:
            revision = _revision(official, checkpoint_index, checkpoint_value)
            checkpoint_dir = hf_io.resolve_checkpoint_dir(official, revision)
            hf_config = hf_io.load_hf_config(checkpoint_dir, kwargs.get("trust_remote_code", False))
        tl_overrides = pipeline.split_overrides(hf_config, {k: v for k, v in kwargs.items() if k != "trust_remote_code"})
        architecture = (getattr(hf_config, "architectures", None) or ["?"])[0]
        cfg_dict = pipeline.config_fields_from_hf(hf_config, architecture, official)
        # As upstream: the name the tokenizer loads by (from_pretrained sets it once it has loaded it).
        cfg_dict["tokenizer_name"] = official
        cfg_dict.update(tl_overrides)
    if fold_ln:
        folded = {"LN": "LNPre", "RMS": "RMSPre"}
        cfg_dict["normalization_type"] = folded.get(cfg_dict.get("normalization_type"), cfg_dict.get("normalization_type"))
    if first_n_layers is not None:
        cfg_dict["n_layers"] = first_n_layers
    cfg_dict.update(dtype=pipeline.as_dtype(dtype), n_devices=n_devices)
    if device is not None:
        cfg_dict["device"] = str(device)
    if default_prepend_bos is not None:
        cfg_dict["default_prepend_bos"] = default_prepend_bos
    return HookedTransformerConfig(**cfg_dict)


def get_pretrained_state_dict(
    official_model_name: str,
    cfg: HookedTransformerConfig,
    hf_model: Any = None,
    dtype: Union[torch.dtype, str] = torch.float32,
    **kwargs: Any,
) -> dict[str, torch.Tensor]:
    """The checkpoint's weights in TransformerLens names and shapes (before fold_ln and the other processing).

    ``hf_model`` (an already loaded Hugging Face model) is read instead of the files.
    """
    from transformer_lens.loading import pipeline, registry

    torch_dtype = pipeline.as_dtype(dtype)
    embedded = _embedded(official_model_name)
    if embedded is not None:
        _, tensors, _ = embedded.load_embedded(official_model_name)
        return {name: tensor.to(torch_dtype) for name, tensor in tensors.items()}
    official = _official_or_given(official_model_name)
    revision = _revision(official, kwargs.get("checkpoint_index"), kwargs.get("checkpoint_value")) or kwargs.get("revision")
    hf_config, tensors, _, _ = pipeline._load_hf(official, hf_model, revision, kwargs.get("trust_remote_code", False), False)
    architecture = (getattr(hf_config, "architectures", None) or [type(hf_model).__name__ if hf_model else "?"])[0]
    state_dict = pipeline._convert(registry.family_for_architecture(architecture), tensors, cfg)
    return {name: tensor.to(torch_dtype) for name, tensor in state_dict.items()}


def get_num_params_of_pretrained(model_name: str) -> int:
    """``cfg.n_params`` of a pretrained model (its hidden weights, as upstream counts), from its config only."""
    return get_pretrained_model_config(model_name).n_params


def fill_missing_keys(model: torch.nn.Module, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state_dict`` plus, for every parameter of ``model`` it lacks, the model's current value.

    Missing biases are common in converted checkpoints; a missing weight matrix is usually a mistake and is
    reported with a warning.
    """
    import logging

    filled = dict(state_dict)
    for name, value in model.state_dict().items():
        if name not in filled:
            if "W_" in name:
                logging.warning(f"Missing key for a weight matrix in pretrained, filled in with an empty tensor: {name}")
            filled[name] = value
    return filled
