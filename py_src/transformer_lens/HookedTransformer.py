"""Upstream's ``transformer_lens.HookedTransformer`` module path.

The class lives in ``hooked_transformer``; this module gives the same objects under the names
code written for TransformerLens imports from here (sae-lens: ``HookedRootModule``, ``Loss``, ``Output``).
"""

import torch

from transformer_lens.activation_cache import ActivationCache
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.factored_matrix import FactoredMatrix
from transformer_lens.hook_points import HookedRootModule, HookPoint
from transformer_lens.hooked_transformer import HookedTransformer
from transformer_lens.kv_cache import HookedTransformerKeyValueCache
from transformer_lens.loss import Loss, Output

# Upstream's accepted spellings of from_pretrained(dtype=...).
DTYPE_FROM_STRING = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}

__all__ = [
    "DTYPE_FROM_STRING",
    "ActivationCache",
    "FactoredMatrix",
    "HookPoint",
    "HookedRootModule",
    "HookedTransformer",
    "HookedTransformerConfig",
    "HookedTransformerKeyValueCache",
    "Loss",
    "Output",
]
