"""Upstream's ``components.mlps.gpt_oss_moe`` path: not provided (its experts are nn.Linear layers).

LensLab runs gpt-oss with its one MoE class (``components.mlps.moe.MoE``, ``cfg.moe_style="gpt_oss"``),
which holds plain ``[in, out]`` weight tensors; importing this module says so.
"""

from transformer_lens._not_provided import not_provided
from transformer_lens.components import _NOT_PROVIDED

raise not_provided("transformer_lens.components.mlps.gpt_oss_moe", _NOT_PROVIDED["GptOssMoE"])
