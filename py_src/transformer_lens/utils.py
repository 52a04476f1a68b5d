"""The ``transformer_lens.utils`` surface of TransformerLens 3.x: small helpers for analysis code.

Hook names come from the one table in ``hook_names``:

>>> get_act_name("resid_pre", 3)
'blocks.3.hook_resid_pre'
>>> get_act_name("k", 6, "a")
'blocks.6.attn.hook_k'
>>> get_act_name("pre", 2)
'blocks.2.mlp.hook_pre'
>>> get_act_name("embed")
'hook_embed'
>>> get_act_name("normalized", 27, "ln2")
'blocks.27.ln2.hook_normalized'
>>> get_act_name("k6")
'blocks.6.attn.hook_k'
>>> get_act_name("pre5")
'blocks.5.mlp.hook_pre'
>>> get_act_name("scale")
'ln_final.hook_scale'

Nothing here imports ``transformers`` or IPython at module level, so importing it is cheap.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Optional, Union

import numpy as np
import torch
import torch.nn.functional as F

from transformer_lens.hook_names import get_act_name
from transformer_lens.loss import lm_cross_entropy_loss

__all__ = [
    "Slice",
    "SliceInput",
    "composition_scores",
    "filter_dict_by_prefix",
    "gelu_fast",
    "gelu_new",
    "get_act_name",
    "get_attention_mask",
    "get_corner",
    "get_cumsum_along_dim",
    "get_device",
    "is_lower_triangular",
    "is_square",
    "lm_accuracy",
    "lm_cross_entropy_loss",
    "remove_batch_dim",
    "solu",
    "test_prompt",
    "to_numpy",
    "transpose",
]

SliceInput = Optional[
    Union[int, tuple[int], tuple[int, int], tuple[int, int, int], list[int], torch.Tensor, np.ndarray]
]
"""What ``Slice`` accepts: an index, a ``(stop,)``/``(start, stop[, step])`` tuple, indices, or None."""


# ---- tensors ---------------------------------------------------------------------------


def to_numpy(tensor: Any) -> np.ndarray:
    """A numpy array from a tensor (detached, on the CPU), list, tuple, array or Python scalar.

    >>> to_numpy(torch.tensor([1.5, 2.0]))
    array([1.5, 2. ], dtype=float32)
    """
    if isinstance(tensor, np.ndarray):
        return tensor
    if isinstance(tensor, (list, tuple)):
        return np.array(tensor)
    if isinstance(tensor, torch.Tensor):
        tensor = tensor.detach().cpu()
        # numpy has no bfloat16.
        return (tensor.float() if tensor.dtype == torch.bfloat16 else tensor).numpy()
    if isinstance(tensor, (int, float, bool, str)):
        return np.array(tensor)
    raise ValueError(f"to_numpy got an invalid type {type(tensor).__name__}: pass a tensor, array, list, tuple or scalar")


def get_corner(tensor: Any, n: int = 3) -> Any:
    """The top-left ``n x n x ...`` corner of a tensor (or of a FactoredMatrix, computed cheaply).

    >>> get_corner(torch.arange(16).reshape(4, 4), 2)
    tensor([[0, 1],
            [4, 5]])
    """
    from transformer_lens.factored_matrix import FactoredMatrix

    if isinstance(tensor, FactoredMatrix):
        return tensor.get_corner(n)
    return tensor[tuple(slice(n) for _ in range(tensor.ndim))]


def remove_batch_dim(tensor: torch.Tensor) -> torch.Tensor:
    """Drop a leading dimension of size 1; any other tensor comes back unchanged."""
    return tensor.squeeze(0) if tensor.shape[0] == 1 else tensor


def transpose(tensor: torch.Tensor) -> torch.Tensor:
    """Swap the last two dimensions, whatever the leading ones."""
    return tensor.transpose(-1, -2)


def is_square(x: torch.Tensor) -> bool:
    """Whether ``x`` is a square matrix."""
    return x.ndim == 2 and x.shape[0] == x.shape[1]


def is_lower_triangular(x: torch.Tensor) -> bool:
    """Whether ``x`` is a square, lower triangular matrix."""
    return is_square(x) and bool(x.equal(x.tril()))


def get_cumsum_along_dim(tensor: torch.Tensor, dim: int, reverse: bool = False) -> torch.Tensor:
    """Cumulative sum along ``dim``; with ``reverse``, summed from the end."""
    if reverse:
        return tensor.flip(dims=(dim,)).cumsum(dim=dim).flip(dims=(dim,))
    return tensor.cumsum(dim=dim)


def filter_dict_by_prefix(dictionary: dict, prefix: str) -> dict:
    """The entries under the dotted prefix ``prefix``, with ``prefix.`` removed from their keys.

    ``"blocks.1"`` and ``"blocks.1."`` select the same keys (``blocks.1.attn.W_Q`` -> ``attn.W_Q``),
    and never ``blocks.10...``.
    """
    dotted = prefix if prefix.endswith(".") else prefix + "."
    return {key[len(dotted) :]: value for key, value in dictionary.items() if key.startswith(dotted)}


def composition_scores(left: Any, right: Any, broadcast_dims: bool = True) -> torch.Tensor:
    """Composition score ``|L @ R| / (|L| |R|)`` (Frobenius norms) of two FactoredMatrix stacks.

    With ``broadcast_dims``, every leading index of ``left`` is paired with every one of ``right``.
    """
    if broadcast_dims:
        left_dims, right_dims = left.ndim - 2, right.ndim - 2
        for _ in range(right_dims):
            left = left.unsqueeze(-3)
        for _ in range(left_dims):
            right = right.unsqueeze(0)
    if left.rdim != right.ldim:
        raise ValueError(f"composition needs left.rdim == right.ldim, got {left.rdim} and {right.ldim}")
    return (left @ right).norm() / (left.norm() * right.norm())


# ---- activation functions (as upstream exports them) ----------------------------------


def gelu_new(x: torch.Tensor) -> torch.Tensor:
    """GPT-2's tanh approximation of GELU."""
    return 0.5 * x * (1.0 + torch.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def gelu_fast(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * x * (1.0 + torch.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)))


# solu lives with the other MLP activations (components.mlp); re-exported here as upstream's utils.solu.
from transformer_lens.components.mlp import solu  # noqa: E402


# ---- language modelling ----------------------------------------------------------------


def lm_accuracy(logits: torch.Tensor, tokens: torch.Tensor, per_token: bool = False) -> torch.Tensor:
    """Top-1 accuracy of predicting the next token (``logits[:, :-1]`` against ``tokens[:, 1:]``).

    Returns the fraction correct, or with ``per_token`` a ``"batch pos-1"`` boolean tensor.

    >>> logits = torch.zeros(1, 3, 4); logits[0, 0, 2] = 1; logits[0, 1, 0] = 1
    >>> lm_accuracy(logits, torch.tensor([[1, 2, 3]]))
    tensor(0.5000)
    """
    correct = logits.argmax(dim=-1)[:, :-1] == tokens[:, 1:].to(logits.device)
    return correct if per_token else correct.sum() / correct.numel()


def get_attention_mask(
    tokenizer: Any, tokens: torch.Tensor, prepend_bos: bool, padding_side: Optional[str] = None
) -> torch.Tensor:
    """1 for real tokens, 0 for padding, for tokens padded by ``tokenizer``.

    Only the run of pad tokens at the padded end counts as padding (a pad id inside the text is
    real). When BOS and pad share an id and BOS was prepended to left-padded text, that BOS is kept.
    """
    mask = torch.ones_like(tokens)
    if tokenizer is None:
        return mask
    padding_side = padding_side or tokenizer.padding_side
    real = tokens.ne(tokenizer.pad_token_id)
    if padding_side == "right":
        mask[get_cumsum_along_dim(real, -1, reverse=True) == 0] = 0
        return mask
    leading_pad = get_cumsum_along_dim(real, -1) == 0
    mask[leading_pad] = 0
    if prepend_bos and tokenizer.bos_token_id == tokenizer.pad_token_id:
        bos_position = leading_pad.sum(-1) - 1
        mask[torch.arange(mask.shape[0]), bos_position] = 1
    return mask


def test_prompt(
    prompt: str,
    answer: Union[str, list[str]],
    model: Any,
    prepend_space_to_answer: bool = True,
    print_details: bool = True,
    prepend_bos: Optional[bool] = None,
    top_k: int = 10,
) -> None:
    """Print how the model ranks ``answer`` after ``prompt``: rank, logit and probability, plus the top k.

    A list of answers compares several one-token continuations. Prints; returns None.
    """
    answers = [answer] if isinstance(answer, str) else list(answer)
    n_answers = len(answers)
    several = n_answers > 1
    if prepend_space_to_answer:
        answers = [a if a.startswith(" ") else " " + a for a in answers]
    prompt_tokens = model.to_tokens(prompt, prepend_bos=prepend_bos)
    answer_tokens = model.to_tokens(answers, prepend_bos=False)
    if several:  # several answers: only their first token is compared
        answer_tokens = answer_tokens[:, :1]
    prompt_tokens = prompt_tokens.repeat(answer_tokens.shape[0], 1)
    tokens = torch.cat((prompt_tokens, answer_tokens.to(prompt_tokens.device)), dim=1)
    prompt_str_tokens = model.to_str_tokens(prompt, prepend_bos=prepend_bos)
    answer_str_tokens = [model.to_str_tokens(a, prepend_bos=False) for a in answers]
    prompt_length = len(prompt_str_tokens)
    answer_length = 1 if several else len(answer_str_tokens[0])
    if print_details:
        print("Tokenized prompt:", prompt_str_tokens)
        if several:
            print("Tokenized answers:", answer_str_tokens)
        else:
            print("Tokenized answer:", answer_str_tokens[0])
    with torch.no_grad():
        logits = model(tokens)
    probs = logits.softmax(dim=-1)
    ranks = []
    for index in range(prompt_length, prompt_length + answer_length):
        targets = tokens[:, index]
        target_strs = [a[index - prompt_length] for a in answer_str_tokens]
        token_probs = probs[:, index - 1]  # the position before predicts this one
        sorted_probs, sorted_ids = token_probs.sort(descending=True)
        target_ranks = sorted_ids.argsort(-1)[range(n_answers), targets].tolist()
        ranks.append(list(zip(target_strs, target_ranks)))
        if print_details:
            lines = [
                f"Rank: {target_ranks[i]: <8} Logit: {logits[i, index - 1, targets[i]].item():5.2f} "
                f"Prob: {token_probs[i, targets[i]].item():6.2%} Token: |{target_strs[i]}|"
                for i in range(n_answers)
            ]
            print(f"Performance on answer token{'s' if several else ''}:\n" + "\n".join(lines))
            for i in range(min(top_k, sorted_ids.shape[-1])):
                print(
                    f"Top {i}th token. Logit: {logits[0, index - 1, sorted_ids[0, i]].item():5.2f} "
                    f"Prob: {sorted_probs[0, i].item():6.2%} Token: |{model.to_string(sorted_ids[0, i])}|"
                )
    print(f"Ranks of the answer tokens: {[r[0] for r in ranks] if not several else ranks}")


# ---- devices ---------------------------------------------------------------------------


def get_device() -> str:
    """"cuda" when available, then "mps" (only with TRANSFORMERLENS_ALLOW_MPS=1), else "cpu"."""
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available() and mps.is_built():
        if os.environ.get("TRANSFORMERLENS_ALLOW_MPS", "") == "1":
            return "mps"
        logging.info("MPS is available but not used by default; set TRANSFORMERLENS_ALLOW_MPS=1 to use it")
    return "cpu"


# ---- Slice -----------------------------------------------------------------------------


class Slice:
    """A slice along one dimension that, unlike Python's, can also drop the dimension.

    Modes: ``int`` indexes (the dimension disappears); a tuple becomes ``slice(*tuple)``
    (``(k,)`` is ``:k``, ``(a, b)`` is ``a:b``, ``(a, b, s)`` is ``a:b:s``); a list, tensor or array
    picks those indices; None leaves the tensor unchanged.

    >>> x = torch.arange(10)
    >>> Slice(-1).apply(x), Slice((2, 5)).apply(x), Slice([0, 9]).apply(x), Slice(None).apply(x).shape
    (tensor(9), tensor([2, 3, 4]), tensor([0, 9]), torch.Size([10]))
    >>> Slice((1, 8, 3)).indices(10)
    array([1, 4, 7])
    """

    slice: Union[int, slice, np.ndarray]

    def __init__(self, input_slice: SliceInput = None) -> None:
        if isinstance(input_slice, tuple):
            self.slice, self.mode = slice(*input_slice), "slice"
        elif isinstance(input_slice, int):
            self.slice, self.mode = input_slice, "int"
        elif isinstance(input_slice, slice):
            self.slice, self.mode = input_slice, "slice"
        elif isinstance(input_slice, (list, torch.Tensor, np.ndarray)):
            self.slice, self.mode = to_numpy(input_slice), "array"
        elif input_slice is None:
            self.slice, self.mode = slice(None), "identity"
        else:
            raise ValueError(f"Invalid input_slice {input_slice!r}: use an int, tuple, list, tensor, array or None")

    def apply(self, tensor: torch.Tensor, dim: int = 0) -> torch.Tensor:
        """``tensor`` sliced along ``dim`` (negative dims count from the end)."""
        index: list[Any] = [slice(None)] * tensor.ndim
        index[dim] = self.slice
        return tensor[tuple(index)]

    def indices(self, max_ctx: Optional[int] = None) -> np.ndarray:
        """The indices this slice selects on an axis of length ``max_ctx`` (needed unless an int)."""
        if self.mode == "int":
            return np.array([self.slice], dtype=np.int64)
        if max_ctx is None:
            raise ValueError("max_ctx must be given unless the slice is a single int")
        return np.arange(max_ctx, dtype=np.int64)[self.slice]

    def __repr__(self) -> str:
        return f"Slice: {self.slice} Mode: {self.mode} "

    @classmethod
    def unwrap(cls, slice_input: Union["Slice", SliceInput]) -> "Slice":
        """A Slice from any slice input; a bare int becomes ``[int]`` so the dimension is kept."""
        if isinstance(slice_input, Slice):
            return slice_input
        if isinstance(slice_input, int):
            slice_input = [slice_input]
        return Slice(slice_input)



# ---- the rest of upstream's utils, implemented by topic under transformer_lens.utilities ----------
# Loaded on first use: those modules import this one, and most callers never need them.

_FROM_UTILITIES = {
    "ACTIVATION_FN_DICT": ("activation_functions", "SUPPORTED_ACTIVATIONS"),
    "SUPPORTED_ACTIVATIONS": ("activation_functions", "SUPPORTED_ACTIVATIONS"),
    "gelu_pytorch_tanh": ("activation_functions", "gelu_pytorch_tanh"),
    "XIELU": ("activation_functions", "XIELU"),
    "xielu": ("activation_functions", "xielu"),
    "relu2": ("activation_functions", "relu2"),
    "USE_DEFAULT_VALUE": ("defaults_utils", "USE_DEFAULT_VALUE"),
    "LocallyOverridenDefaults": ("defaults_utils", "LocallyOverridenDefaults"),
    "override_or_use_default_value": ("defaults_utils", "override_or_use_default_value"),
    "get_nested_attr": ("attribute_utils", "get_nested_attr"),
    "set_nested_attr": ("attribute_utils", "set_nested_attr"),
    "get_input_with_manually_prepended_bos": ("tokenize_utils", "get_input_with_manually_prepended_bos"),
    "get_tokenizer_with_bos": ("tokenize_utils", "get_tokenizer_with_bos"),
    "get_tokens_with_bos_removed": ("tokenize_utils", "get_tokens_with_bos_removed"),
    "tokenize_and_concatenate": ("tokenize_utils", "tokenize_and_concatenate"),
    "calc_fan_in_and_fan_out": ("initialization_utils", "calc_fan_in_and_fan_out"),
    "init_xavier_uniform_": ("initialization_utils", "init_xavier_uniform_"),
    "init_xavier_normal_": ("initialization_utils", "init_xavier_normal_"),
    "init_kaiming_uniform_": ("initialization_utils", "init_kaiming_uniform_"),
    "init_kaiming_normal_": ("initialization_utils", "init_kaiming_normal_"),
    "check_structure": ("tensors", "check_structure"),
    "get_offset_position_ids": ("tensors", "get_offset_position_ids"),
    "repeat_along_head_dimension": ("tensors", "repeat_along_head_dimension"),
    "sample_logits": ("logits_utils", "sample_logits"),
    "logits_to_df": ("logits_utils", "logits_to_df"),
    "get_matrix_corner": ("matrix", "get_matrix_corner"),
    "is_library_available": ("library_utils", "is_library_available"),
    "print_gpu_mem": ("gpu_utils", "print_gpu_mem"),
    "warn_if_mps": ("devices", "warn_if_mps"),
    "move_to_and_update_config": ("devices", "move_to_and_update_config"),
    "select_compatible_kwargs": ("hf_utils", "select_compatible_kwargs"),
    "keep_single_column": ("hf_utils", "keep_single_column"),
    "download_file_from_hf": ("hf_utils", "download_file_from_hf"),
    "clear_huggingface_cache": ("hf_utils", "clear_huggingface_cache"),
    "get_dataset": ("hf_utils", "get_dataset"),
}

__all__ += sorted(name for name in _FROM_UTILITIES if name != "SUPPORTED_ACTIVATIONS")


def __getattr__(name: str) -> Any:
    if name == "CACHE_DIR":  # the Hugging Face hub cache, as upstream 2.x
        from huggingface_hub import constants

        return constants.HF_HUB_CACHE
    if name in _FROM_UTILITIES:
        import importlib

        module_name, attribute = _FROM_UTILITIES[name]
        return getattr(importlib.import_module(f"transformer_lens.utilities.{module_name}"), attribute)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_FROM_UTILITIES) | {"CACHE_DIR"})
