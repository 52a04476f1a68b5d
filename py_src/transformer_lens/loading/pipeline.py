"""from_pretrained: name -> config -> converted tensors -> processed weights -> model."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import logging
import os
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import torch

from transformer_lens.config import HookedTransformerConfig, default_device
from transformer_lens import devices, weight_processing
from transformer_lens.loading import checkpoints, hf_io, registry, streaming, tl_format, weight_memory
from transformer_lens.loading.model_names import CONFIG_BY_NAME_PREFIX
from transformer_lens.loading.tensor_source import InMemorySource, TensorSource
from transformer_lens.loading.weight_memory import PreparedWeightMemory

logger = logging.getLogger(__name__)

_TL_FIELDS = {f.name for f in dataclasses.fields(HookedTransformerConfig)}


def split_overrides(hf_config: Any, overrides: dict[str, Any], arguments: Sequence[str] = ()) -> dict[str, Any]:
    """Apply HF-config overrides in place; return those that name our config fields instead.

    ``arguments`` are the caller's own keyword arguments, offered (with the config keys) as
    the likely meaning of a misspelt key.
    """
    tl_overrides = {}
    for key, value in overrides.items():
        if hf_config is not None and hasattr(hf_config, key):
            setattr(hf_config, key, value)
        elif key in _TL_FIELDS:
            tl_overrides[key] = value
        else:
            hf_keys = list(hf_config.to_dict()) if hasattr(hf_config, "to_dict") else []
            what = f"a {type(hf_config).__name__} key, " if hf_config is not None else ""
            raise TypeError(
                f"from_pretrained() got an unexpected keyword argument {key!r}: it is not {what}a "
                f"HookedTransformerConfig field or an argument of from_pretrained"
                + registry.did_you_mean(key, [*arguments, *_TL_FIELDS, *hf_keys])
            )
    return tl_overrides


#: Weights must be floating point; these are the dtypes the forward pass supports.
SUPPORTED_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


def as_dtype(dtype: Union[torch.dtype, str]) -> torch.dtype:
    """A supported floating-point ``torch.dtype`` from a dtype or its name ("float16", "torch.bfloat16")."""
    value = dtype if isinstance(dtype, torch.dtype) else getattr(torch, str(dtype).removeprefix("torch."), None)
    if value not in SUPPORTED_DTYPES:
        names = ", ".join(str(d).removeprefix("torch.") for d in SUPPORTED_DTYPES)
        raise ValueError(f"dtype {dtype!r} is not supported: the weights need a floating-point dtype, one of {names}")
    return value


def check_model_name(model_name: Any) -> str:
    """``model_name`` as a non-empty string (a ``pathlib.Path`` to a checkpoint directory works too)."""
    if isinstance(model_name, os.PathLike):
        model_name = os.fspath(model_name)
    if not isinstance(model_name, str):
        raise TypeError(
            "model_name must be a string (an official model name, an alias, a Hugging Face id or a local "
            f"directory), got {type(model_name).__name__}"
        )
    if not model_name.strip():
        raise ValueError(f"model_name is empty ({model_name!r}): give an official model name, a Hugging Face id or a directory")
    return model_name


def check_first_n_layers(first_n_layers: Any, n_layers: int, model_name: str) -> None:
    if not isinstance(first_n_layers, int) or isinstance(first_n_layers, bool):
        raise TypeError(f"first_n_layers must be an int or None, got {type(first_n_layers).__name__}")
    if not 1 <= first_n_layers <= n_layers:
        raise ValueError(
            f"first_n_layers={first_n_layers} is out of range: {model_name} has {n_layers} layers, "
            f"so it must lie between 1 and {n_layers}"
        )


def load_pretrained(
    model_class: type,
    family: Optional[ModuleType],
    model_name: str,
    *,
    fold_ln: bool = False,
    center_writing_weights: bool = False,
    center_unembed: bool = False,
    refactor_factored_attn_matrices: bool = False,
    fold_value_biases: bool = False,
    checkpoint_index: Optional[int] = None,
    checkpoint_value: Optional[int] = None,
    hf_model: Any = None,
    device: Union[str, torch.device, None] = None,
    n_devices: int = 1,
    tokenizer: Any = None,
    move_to_device: bool = True,
    default_prepend_bos: Optional[bool] = None,
    default_padding_side: str = "right",
    dtype: Union[torch.dtype, str] = torch.float32,
    first_n_layers: Optional[int] = None,
    revision: Optional[str] = None,
    trust_remote_code: bool = False,
    overrides: Optional[dict[str, Any]] = None,
) -> Any:
    """``model_class.from_pretrained`` for every model class: name -> config -> streamed, processed weights -> model.

    ``family`` is the loading family the class is restricted to (``families.bert`` for
    HookedEncoder, ``families.t5`` for HookedEncoderDecoder), or None for HookedTransformer,
    whose family comes from the checkpoint's architecture (and which alone loads embedded and
    TransformerLens-format models and training checkpoints). The model is built on the meta
    device and the checkpoint streamed in layer by layer (``streaming``), for every class.
    """
    with contextlib.ExitStack() as cleanup:  # closes what a load opened, also when it fails
        memory: Optional[PreparedWeightMemory] = None  # new weights' memory, prepared while the config is read
        overrides = dict(overrides or {})
        if overrides.pop("load_in_8bit", False) or overrides.pop("load_in_4bit", False):
            raise ValueError(f"Quantization (load_in_8bit/load_in_4bit) is not supported by {model_class.__name__}")
        dtype = overrides.pop("torch_dtype", dtype)  # upstream's older name for dtype
        model_name = check_model_name(model_name)
        decoder = family is None
        if family is None:
            encoder_error = registry.encoder_name_error(model_name) or registry.encoder_decoder_name_error(model_name)
            if encoder_error is not None:
                raise encoder_error
            official = registry.get_official_model_name(model_name)
        else:
            # Only a name the table knows as this family's is mapped (a decoder's alias is not).
            known_here = registry.architecture_of(model_name) in family.HF_ARCHITECTURES
            official = registry.get_official_model_name(model_name) if known_here else None
        local_dir = Path(model_name).expanduser().is_dir()
        unsupported = registry.unsupported_name_error(model_name) if decoder and not local_dir and hf_model is None else None
        if unsupported is not None:
            raise unsupported
        torch_dtype = as_dtype(dtype)
        embedded = _embedded_module() if decoder else None
        tl_format_model = False
        if embedded is not None and embedded.is_embedded(model_name):
            _refuse_checkpoint(model_name, checkpoint_index, checkpoint_value)
            cfg_dict, tensors, embedded_tokenizer = embedded.load_embedded(model_name)
            tokenizer = tokenizer if tokenizer is not None else embedded_tokenizer
            cfg_dict.update(split_overrides(None, overrides, arguments_of(model_class)))
        elif decoder and hf_model is None and _is_tl_format(model_name, local_dir):
            tl_format_model = True
            source = model_name if local_dir else official or model_name
            cfg_dict, tensors = tl_format.load_tl_format(source, official or model_name, revision, checkpoint_index, checkpoint_value)
            if tokenizer is None:
                tokenizer = _tokenizer_by_name(cfg_dict["tokenizer_name"], trust_remote_code)
            if tokenizer is None:
                cfg_dict["tokenizer_name"] = None  # not reachable: the model works on token ids alone
            cfg_dict["model_name"] = _short_name(official or model_name)
            cfg_dict.update(split_overrides(None, overrides, arguments_of(model_class)))
        else:
            if not decoder:
                _refuse_checkpoint(model_name, checkpoint_index, checkpoint_value)
            if checkpoint_index is not None or checkpoint_value is not None:
                name = official or model_name
                index, value, label_type = checkpoints.resolve_checkpoint(name, checkpoint_index, checkpoint_value)
                revision = checkpoints.checkpoint_revision(name, value)
                checkpoint_fields = dict(checkpoint_index=index, checkpoint_value=value, checkpoint_label_type=label_type)
            else:
                checkpoint_fields = {}
            try:
                hf_config, tensors, hub_tokenizer, memory = _load_hf(
                    official or model_name if decoder else [official, model_name],
                    hf_model,
                    revision,
                    trust_remote_code,
                    tokenizer is None,
                    lambda architecture: _family_of(architecture, family, model_class),
                    prepare_memory=lambda checkpoint_dir: _prepared_memory(
                        checkpoint_dir, torch_dtype, cleanup,
                        on_cpu=_weights_stay_on_cpu(device, n_devices, move_to_device, overrides),
                        processing=fold_ln or center_writing_weights or center_unembed or fold_value_biases,
                    ),
                )
            except hf_io.CheckpointNotFoundError as error:
                if official is not None or not decoder:
                    raise
                raise hf_io.CheckpointNotFoundError(f"{error}{registry.did_you_mean_model(model_name)}") from None
            tl_overrides = split_overrides(hf_config, overrides, arguments_of(model_class))
            architecture = _architecture(hf_config, hf_model)
            family = _family_of(architecture, family, model_class)
            # Decoders are named without their organisation, as upstream; encoders keep the hub id.
            cfg_dict = config_fields_from_hf(hf_config, architecture, official or model_name, short_name=decoder)
            cfg_dict["from_checkpoint"] = bool(checkpoint_fields)
            cfg_dict.update(checkpoint_fields)
            cfg_dict.update(tl_overrides)
            tokenizer = tokenizer if tokenizer is not None else hub_tokenizer
            warning = family.load_warning(model_name, architecture) if hasattr(family, "load_warning") else None
            if warning is not None:
                warnings.warn(warning, UserWarning, stacklevel=3)  # at the from_pretrained call
        if first_n_layers is not None:
            check_first_n_layers(first_n_layers, cfg_dict["n_layers"], model_name)
            cfg_dict["n_layers"] = first_n_layers
        cfg_dict.update(dtype=torch_dtype, n_devices=n_devices, trust_remote_code=trust_remote_code)
        cfg_dict["device"] = str(device) if device is not None else cfg_dict.get("device")
        if default_prepend_bos is not None:
            cfg_dict["default_prepend_bos"] = default_prepend_bos
        cfg_dict["init_weights"] = False
        cfg = HookedTransformerConfig(**cfg_dict)
        if family is not None:
            convert = lambda source, cfg: _convert(family, source, cfg)  # noqa: E731
        elif tl_format_model:
            convert = tl_format.convert_state_dict
        else:
            convert = lambda source, cfg: dict(source)  # noqa: E731  (embedded models are stored converted)
        if not isinstance(tensors, TensorSource):
            tensors = InMemorySource(tensors)
        fold_ln, center_writing_weights, center_unembed = weight_processing.applicable_steps(
            cfg, fold_ln, center_writing_weights, center_unembed
        )
        with streaming.parameters_on_meta():
            model = model_class(cfg, tokenizer, move_to_device=False, default_padding_side=default_padding_side)
        if family is not None and model.tokenizer is not None:
            # As upstream: the name AutoTokenizer loads it by (set after construction, which would load it).
            model.cfg.tokenizer_name = official or model_name
        if move_to_device:
            devices.check_device_count(cfg)
        hf_device = next(hf_model.parameters()).device if hf_model is not None and hasattr(hf_model, "parameters") else None
        streaming.check_memory_fits(model, cfg, move_to_device, already_on=hf_device)
        loaded = streaming.stream_into_model(
            model,
            streaming.converted_chunks(tensors, convert, cfg),
            cfg,
            move_to_device=move_to_device,
            memory=memory,
            fold_ln=fold_ln,
            center_writing_weights=center_writing_weights,
            center_unembed=center_unembed,
            fold_value_biases=fold_value_biases,
            refactor_factored_attn_matrices=refactor_factored_attn_matrices,
        )
        if fold_ln and weight_processing.can_fold_ln(model.cfg):
            model._swap_norms(model.cfg.normalization_type + "Pre")
        streaming.check_all_loaded(model, loaded)
        if move_to_device:
            model.move_model_modules_to_device()
        model.eval()
        return model


def _architecture(hf_config: Any, hf_model: Any) -> str:
    """The checkpoint's architecture: its config's first, else the loaded model's class, else its model type."""
    architectures = getattr(hf_config, "architectures", None) or ([type(hf_model).__name__] if hf_model is not None else [])
    return architectures[0] if architectures else getattr(hf_config, "model_type", None) or "?"


def _family_of(architecture: str, family: Optional[ModuleType], model_class: type) -> ModuleType:
    """The family that converts ``architecture``, or a one-line error naming what ``model_class`` loads."""
    if family is None:
        return registry.family_for_architecture(architecture)
    if architecture not in family.HF_ARCHITECTURES:
        raise ValueError(
            f"Architecture {architecture} is not supported by {model_class.__name__}; supported: "
            f"{', '.join(family.HF_ARCHITECTURES)} (decoder-only models load with HookedTransformer.from_pretrained)"
        )
    return family


def config_fields_from_hf(hf_config: Any, architecture: str, name: str, short_name: bool = True) -> dict[str, Any]:
    """HookedTransformerConfig fields for a Hugging Face config, before loading options (dtype, device...).

    ``cfg.model_name`` is ``name`` without its organisation, or with ``short_name=False`` as given.

    These are the fields upstream's ``convert_hf_model_config`` gives, except ``tokenizer_name``,
    set once a tokenizer is actually loaded (see tests/transformer_lens/loading/test_upstream_config_fields.py).
    """
    cfg_dict: dict[str, Any] = _family_any(architecture).config_from_hf(hf_config)
    cfg_dict.update(original_architecture=architecture, tokenizer_name=None, model_name=_short_name(name) if short_name else name)
    for prefix, fields in CONFIG_BY_NAME_PREFIX.items():
        if name.startswith(prefix):
            cfg_dict.update(fields)
    return cfg_dict


def _family_any(architecture: str) -> ModuleType:
    """The family of any architecture, encoders' and encoder-decoders' included."""
    from transformer_lens.loading.families import bert, t5

    for family in (bert, t5):
        if architecture in family.HF_ARCHITECTURES:
            return family
    return registry.family_for_architecture(architecture)


def _is_tl_format(model_name: str, local_dir: bool) -> bool:
    if local_dir:
        return tl_format.is_tl_format_dir(Path(model_name).expanduser())
    return registry.is_tl_format_name(model_name)


def _short_name(name: str) -> str:
    """Upstream's ``cfg.model_name``: the official name (or directory) without its organisation."""
    return Path(name).name or name


def _refuse_checkpoint(model_name: str, checkpoint_index: Optional[int], checkpoint_value: Optional[int]) -> None:
    if checkpoint_index is not None or checkpoint_value is not None:
        raise ValueError(f"{model_name} has no published training checkpoints (checkpoint_index/checkpoint_value)")


def _tokenizer_by_name(name: Optional[str], trust_remote_code: bool) -> Any:
    """The tokenizer a TransformerLens-format config names (a hub id or directory), or None if unavailable."""
    if not name:
        return None
    try:
        return hf_io.load_tokenizer(hf_io.resolve_checkpoint_dir(name), trust_remote_code)
    except hf_io.CheckpointNotFoundError:
        logger.warning("Tokenizer %s is not available; the model takes token ids only", name)
        return None


def arguments_of(model_class: Any) -> list[str]:
    """The named keyword arguments of ``model_class.from_pretrained``."""
    parameters = inspect.signature(model_class.from_pretrained).parameters.values()
    return [p.name for p in parameters if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and p.name != "model_name"]


def _convert(family: Any, tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    """Family conversion with a one-line reason when the weights do not fit the config."""
    try:
        state_dict: dict[str, torch.Tensor] = family.convert_state_dict(tensors, cfg)
    except KeyError as error:
        raise ValueError(f"Checkpoint lacks tensor {error.args[0]!r} that its config ({cfg.original_architecture}) needs") from None
    except (RuntimeError, ValueError) as error:  # reshapes that cannot fit, e.g. einops errors
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"Checkpoint weights do not match its config ({cfg.original_architecture}): {first_line}") from None
    positions = state_dict.get("pos_embed.W_pos")
    if positions is not None and positions.shape[0] > cfg.n_ctx:  # a context cut by name (TinyStories)
        state_dict["pos_embed.W_pos"] = positions[: cfg.n_ctx]
    return state_dict


def _embedded_module() -> Optional[ModuleType]:
    try:
        from transformer_lens.loading import embedded
    except ImportError:
        return None
    return embedded


def _load_hf(
    names: Union[str, Sequence[Optional[str]]],
    hf_model: Any,
    revision: Optional[str],
    trust_remote_code: bool,
    want_tokenizer: bool,
    check_architecture: Callable[[str], Any] = registry.family_for_architecture,
    prepare_memory: Optional[Callable[[Path], Optional[PreparedWeightMemory]]] = None,
) -> tuple[Any, Any, Any, Optional[PreparedWeightMemory]]:
    """HF config, raw tensors, tokenizer (None when the checkpoint has none) and prepared weight memory.

    ``names`` are tried in turn (``bert-base-uncased`` and ``google-bert/bert-base-uncased`` are
    one hub repo, cached under either name); the architecture is checked before any weight is read.
    ``prepare_memory(checkpoint_dir)`` starts preparing memory for the weights while the config is
    read (``weight_memory``); it has stopped when this returns.
    """
    if hf_model is not None:
        hf_config = hf_model.config
        check_architecture(_architecture(hf_config, hf_model))
        tensors: Mapping[str, torch.Tensor] = {k: v.detach() for k, v in hf_model.state_dict().items()}
        try:
            checkpoint_dir: Optional[Path] = _resolve_first(names, revision)
        except hf_io.CheckpointNotFoundError:
            checkpoint_dir = None
        tokenizer = hf_io.load_tokenizer(checkpoint_dir, trust_remote_code) if checkpoint_dir and want_tokenizer else None
        return hf_config, tensors, tokenizer, None
    checkpoint_dir = _resolve_first(names, revision)
    memory = prepare_memory(checkpoint_dir) if prepare_memory is not None else None
    try:
        hf_config = hf_io.load_hf_config(checkpoint_dir, trust_remote_code)
    finally:
        if memory is not None:
            memory.stop_preparing()
    check_architecture(_architecture(hf_config, None))  # fail before reading weights
    tensors = hf_io.open_tensors(checkpoint_dir)  # headers only: weights are read layer by layer
    tokenizer = hf_io.load_tokenizer(checkpoint_dir, trust_remote_code) if want_tokenizer else None
    return hf_config, tensors, tokenizer, memory


def _weights_stay_on_cpu(device: Union[str, torch.device, None], n_devices: int, move_to_device: bool, overrides: Mapping[str, Any]) -> bool:
    """Whether every weight ends on the CPU (where prepared memory is the weights' own, not a staging copy)."""
    if not move_to_device:
        return True
    if n_devices != 1 or overrides.get("device_map") is not None:
        return False
    return torch.device(device if device is not None else default_device()).type == "cpu"


def _prepared_memory(
    checkpoint_dir: Path, dtype: torch.dtype, cleanup: contextlib.ExitStack, *, on_cpu: bool, processing: bool
) -> Optional[PreparedWeightMemory]:
    """Memory for the weights this load writes, prepared while its config is read; None where it would not be used.

    Without processing, the writes are casts (a checkpoint dtype other than ``dtype``). With it,
    RMSNorm models' processing writes every weight a norm reads (and every cast one) straight
    from the checkpoint's tensor; LayerNorm models' processing computes in float32 memory of its
    own, so nothing is prepared for them.
    """
    if not on_cpu:
        return None
    try:
        files = hf_io.safetensors_files(checkpoint_dir)
    except (OSError, ValueError, KeyError):
        return None  # a damaged index: reported where the weights are opened, as always
    if not files:
        return None
    if processing and _normalization_hint(checkpoint_dir) != "RMS":
        return None  # LayerNorm processing computes in float32 memory of its own and casts from that
    memory = weight_memory.prepare(files, dtype, rewrite_same_dtype=processing)
    cleanup.callback(memory.close)
    return memory


def _normalization_hint(checkpoint_dir: Path) -> Optional[str]:
    """The norm type the family gives this checkpoint, from config.json alone (before transformers' config
    class is imported); None where that reading fails. A hint only: it decides whether to prepare memory."""
    try:
        raw = json.loads((checkpoint_dir / "config.json").read_text())
        family = registry.family_for_architecture((raw.get("architectures") or [raw.get("model_type")])[0])
        normalization = family.config_from_hf(hf_io.PlainConfig(**raw)).get("normalization_type")
        return normalization if isinstance(normalization, str) else None
    except Exception:  # any config the family cannot read this way: no hint
        return None


def _resolve_first(names: Union[str, Sequence[Optional[str]]], revision: Optional[str]) -> Path:
    """The checkpoint directory of the first name that resolves (the first name's error if none does)."""
    candidates = [names] if isinstance(names, str) else [name for name in dict.fromkeys(names) if name]
    first_error: Optional[hf_io.CheckpointNotFoundError] = None
    for name in candidates:
        try:
            return hf_io.resolve_checkpoint_dir(name, revision)
        except hf_io.CheckpointNotFoundError as error:
            first_error = first_error or error
    assert first_error is not None
    raise first_error
