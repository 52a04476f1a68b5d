"""Upstream's ``transformer_lens.utilities`` package: the helpers of ``utils`` grouped by topic.

Each name loads its submodule on first use, so importing the package costs nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

# submodule -> the names it provides (upstream's grouping)
_SUBMODULE_NAMES: dict[str, tuple[str, ...]] = {
    "activation_functions": (
        "ActivationFunction", "SUPPORTED_ACTIVATIONS", "XIELU", "gelu_fast", "gelu_new", "gelu_pytorch_tanh", "relu2", "solu", "xielu",
    ),
    "addmm": ("batch_addmm", "vanilla_addmm"),
    "attention": ("complex_attn_linear", "simple_attn_linear"),
    "aliases": ("collect_aliases_recursive", "resolve_alias"),
    "attribute_utils": ("get_nested_attr", "set_nested_attr"),
    "cache": ("get_pos_offset",),
    "components_utils": ("get_act_name",),
    "defaults_utils": ("USE_DEFAULT_VALUE", "LocallyOverridenDefaults", "override_or_use_default_value"),
    "devices": ("ModelWithCfg", "get_device", "move_to_and_update_config", "warn_if_mps"),
    "exploratory_utils": ("test_prompt",),
    "gpu_utils": ("print_gpu_mem",),
    "hf_utils": (
        "call_hf_with_retry", "clear_huggingface_cache", "download_file_from_hf", "enable_hf_retry", "get_dataset",
        "get_hf_token", "keep_single_column", "select_compatible_kwargs",
    ),
    "initialization_utils": (
        "NonlinearityType", "calc_fan_in_and_fan_out", "init_kaiming_normal_", "init_kaiming_uniform_",
        "init_xavier_normal_", "init_xavier_uniform_",
    ),
    "library_utils": ("is_library_available",),
    "lm_utils": ("lm_accuracy", "lm_cross_entropy_loss"),
    "logits_utils": ("logits_to_df", "sample_logits"),
    "matrix": ("composition_scores", "get_matrix_corner"),
    "multi_gpu": (
        "calculate_available_device_cuda_memory", "count_unique_devices", "determine_available_memory_for_available_devices",
        "find_embedding_device", "get_best_available_cuda_device", "get_best_available_device",
        "get_device_for_block_index", "sort_devices_based_on_available_memory",
    ),
    "slice": ("Slice", "SliceInput"),
    "tensors": (
        "check_structure", "filter_dict_by_prefix", "get_corner", "get_cumsum_along_dim", "get_offset_position_ids",
        "is_lower_triangular", "is_square", "remove_batch_dim", "repeat_along_head_dimension", "to_numpy", "transpose",
    ),
    "tracr": ("infer_tracr_output_label", "make_tracr_categorical_unembed"),
    "typed_module_list": ("TypedModuleList",),
    "tokenize_utils": (
        "get_attention_mask", "get_input_with_manually_prepended_bos", "get_tokenizer_with_bos",
        "get_tokens_with_bos_removed", "tokenize_and_concatenate",
    ),
}  # fmt: skip
_PROVIDERS = {name: module for module, names in _SUBMODULE_NAMES.items() for name in names}

__all__ = sorted(_PROVIDERS)


def __getattr__(name: str) -> Any:
    if name in _PROVIDERS:
        return getattr(importlib.import_module(f"{__name__}.{_PROVIDERS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PROVIDERS))
