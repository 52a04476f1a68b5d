"""Upstream's ``convert_gpt_oss_weights``: LensLab's ``loading.families.gpt_oss`` converter, in upstream's MoE layout.

Upstream's gpt-oss MoE holds its router and experts as ``nn.Linear`` modules (``mlp.W_gate.weight``
``[n_experts, d_model]``, ``mlp.experts.{e}.W_in.weight`` ``[d_mlp, d_model]``, ...); LensLab's MoE
holds plain ``[in, out]`` tensors (``mlp.W_gate``, ``mlp.experts.{e}.W_in``). This function returns
upstream's layout, for code written against it; ``HookedTransformer.from_pretrained`` loads gpt-oss
checkpoints through the family converter directly.
"""

from __future__ import annotations

from typing import Any

import torch

from transformer_lens.pretrained.weight_conversions._adapter import family_converter

# our name -> (upstream module, parameter); weights are transposed to nn.Linear's [out, in]
_LINEAR = {"W_gate": ("W_gate", "weight"), "b_gate": ("W_gate", "bias"), "W_in": ("W_in", "weight"),
           "b_in": ("W_in", "bias"), "W_out": ("W_out", "weight"), "b_out": ("W_out", "bias")}  # fmt: skip


def _linear_layout(state_dict: "dict[str, torch.Tensor]", cfg: Any) -> "dict[str, torch.Tensor]":
    out = {}
    for key, value in state_dict.items():
        prefix, _, leaf = key.rpartition(".")
        in_mlp = prefix.endswith(".mlp") or ".mlp.experts." in prefix + "."
        if in_mlp and leaf in _LINEAR:
            module, param = _LINEAR[leaf]
            key = f"{prefix}.{module}.{param}"
            value = value.T.contiguous() if param == "weight" else value.contiguous()
        out[key] = value
    return out


convert_gpt_oss_weights = family_converter("gpt_oss", "convert_gpt_oss_weights", relayout=_linear_layout)
