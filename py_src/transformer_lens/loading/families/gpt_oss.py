"""gpt-oss: MoE with biased router and clamped-GLU experts, attention sinks, alternating sliding windows."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families import _moe, llama_like

HF_ARCHITECTURES = ("GptOssForCausalLM",)

OFFICIAL_NAMES: dict[str, tuple[str, ...]] = {}


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    # RoPE (the released checkpoints use YaRN) comes from the shared LLaMA-style mapping.
    return {
        **_moe.moe_config(
            hf_config,
            hf_config.num_local_experts,
            moe_style="gpt_oss",
            use_attention_sinks=True,
            extra={"swiglu_alpha": float(hf_config.swiglu_alpha), "swiglu_limit": float(hf_config.swiglu_limit)},
        ),
        **llama_like.sliding_window_config(hf_config),
    }


def _experts(hf: Mapping[str, torch.Tensor], src: str, cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    """Stacked experts: ``gate_up_proj`` ``[expert, d_model, 2 d_mlp]`` with gate and up columns interleaved."""
    gate_up, gate_up_bias = hf[src + "mlp.experts.gate_up_proj"], hf[src + "mlp.experts.gate_up_proj_bias"]
    down, down_bias = hf[src + "mlp.experts.down_proj"], hf[src + "mlp.experts.down_proj_bias"]
    out = {"mlp.W_gate": hf[src + "mlp.router.weight"].T, "mlp.b_gate": hf[src + "mlp.router.bias"]}
    for expert in range(cfg.num_experts or 0):
        stem = f"mlp.experts.{expert}."
        out[stem + "W_gate"], out[stem + "b_gate"] = gate_up[expert][:, ::2], gate_up_bias[expert][::2]
        out[stem + "W_in"], out[stem + "b_in"] = gate_up[expert][:, 1::2], gate_up_bias[expert][1::2]
        out[stem + "W_out"], out[stem + "b_out"] = down[expert], down_bias[expert]
    return out


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    return _moe.convert_state_dict(hf_tensors, cfg, _experts)
