"""Hook points a library splices in under the model's own: sae-lens's SAE hooks, for the hook tree.

sae-lens's ``HookedSAETransformer`` replaces the hook point at, say, ``blocks.0.hook_mlp_out`` with a
module that holds the SAE's hook points, so ``hook_dict`` gains ``blocks.0.hook_mlp_out.hook_sae_acts_post``
and the like; it also adds ``blocks.{layer}.mlp.hook_in``. They are not in LensLab's hook table, so the
sidebar would file them under "other" with no shape; this gives them a description, a shape and a group.
"""

from __future__ import annotations

import re
from typing import Optional

from transformer_lens.hook_names import HookSpec, spec_for

_FEATURES = ("batch", "pos", "d_sae")
# The SAE's hook point -> (shape, None for the shape of the hook it sits under; description).
SAE_HOOKS: dict[str, tuple[Optional[tuple[str, ...]], str]] = {
    "hook_sae_input": (None, "SAE input: the activation at {parent}."),
    "hook_sae_acts_pre": (_FEATURES, "SAE feature pre-activations (before the activation function)."),
    "hook_sae_acts_post": (_FEATURES, "SAE feature activations."),
    "hook_sae_recons": (None, "SAE reconstruction of {parent}."),
    "hook_sae_error": (None, "SAE error term: {parent} minus its reconstruction (use_error_term=True)."),
    "hook_sae_output": (None, "What {parent} passes on with the SAE spliced in (reconstruction, plus error term if used)."),
}
SAE_COMPONENT = "sae"
_MLP_HOOK_IN = re.compile(r"^blocks\.\d+\.mlp\.hook_in$")


def spliced_hook_spec(name: str) -> Optional[HookSpec]:
    """The table entry for a hook point sae-lens adds, or None for any other name."""
    if _MLP_HOOK_IN.match(name):
        return HookSpec(name, ("batch", "pos", "d_model"), "MLP input (added by sae-lens's HookedSAETransformer).", "mlp")
    parent, _, leaf = name.rpartition(".")
    if leaf not in SAE_HOOKS or not parent:
        return None
    shape, text = SAE_HOOKS[leaf]
    if shape is None:
        parent_spec = spec_for(parent)
        shape = parent_spec.shape if parent_spec else ()
    return HookSpec(name, shape, text.format(parent=parent), SAE_COMPONENT)
