"""SantaCoder (bigcode/santacoder), GPT2LMHeadCustomModel: GPT-BigCode's model in an older layout.

It is remote code (``modeling_gpt2_mq.py``) that transformers ships no class for, so its
config.json is read as a GPT-2 config or, failing that, as a plain dict (``PLAIN_CONFIG``).
The network is GPT-BigCode with multi-query attention (one key/value head); only the tensors
differ: GPT-2's Conv1D layout (``[in, out]``) and a query projection ``attn.q_attn`` apart from
``attn.kv_attn`` (the key head, then the value head). They are re-laid out as GPT-BigCode's
tensors and converted by that family, so both share one conversion.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading.families import gpt_bigcode
from transformer_lens.loading.families._common import strip_prefixes

HF_ARCHITECTURES = ("GPT2LMHeadCustomModel",)
PLAIN_CONFIG = True

OFFICIAL_NAMES: dict[str, tuple[str, ...]] = {}  # names are kept by the model-name registry

# Conv1D modules of each block, stored [in, out] where GPT-BigCode's nn.Linear stores [out, in].
_CONV1D_WEIGHTS = ("attn.c_proj", "mlp.c_fc", "mlp.c_proj")


def config_from_hf(hf_config: Any) -> dict[str, Any]:
    head_type = getattr(hf_config, "attention_head_type", "multiquery")
    if head_type != "multiquery":
        raise ValueError(
            f"SantaCoder with attention_head_type={head_type!r} is not supported; nearest supported: "
            "attention_head_type='multiquery' (or the checkpoint converted to GPTBigCodeForCausalLM)"
        )
    n_embd = hf_config.n_embd
    return dict(
        d_model=n_embd,
        d_head=n_embd // hf_config.n_head,
        n_heads=hf_config.n_head,
        d_mlp=getattr(hf_config, "n_inner", None) or 4 * n_embd,
        n_layers=hf_config.n_layer,
        n_ctx=getattr(hf_config, "n_positions", 1024),
        eps=getattr(hf_config, "layer_norm_epsilon", 1e-5),
        d_vocab=hf_config.vocab_size,
        act_fn=getattr(hf_config, "activation_function", "gelu_new"),
        normalization_type="LN",
        n_key_value_heads=1,
        use_attn_scale=bool(getattr(hf_config, "scale_attn_weights", True)),
        scale_attn_by_inverse_layer_idx=bool(getattr(hf_config, "scale_attn_by_inverse_layer_idx", False)),
        positional_embedding_type="standard",
    )


def as_gpt_bigcode_tensors(hf_tensors: Mapping[str, torch.Tensor], n_layers: int) -> dict[str, torch.Tensor]:
    """SantaCoder tensors -> GPT-BigCode (multi-query) tensors: fused ``c_attn`` rows [query; key; value]."""
    hf = strip_prefixes(hf_tensors, "transformer.")
    out = {key: value for key, value in hf.items() if ".attn.q_attn." not in key and ".attn.kv_attn." not in key}
    for layer in range(n_layers):
        block = f"h.{layer}."
        out[block + "attn.c_attn.weight"] = torch.cat([hf[block + "attn.q_attn.weight"], hf[block + "attn.kv_attn.weight"]], dim=1).T
        out[block + "attn.c_attn.bias"] = torch.cat([hf[block + "attn.q_attn.bias"], hf[block + "attn.kv_attn.bias"]])
        for module in _CONV1D_WEIGHTS:
            out[f"{block}{module}.weight"] = hf[f"{block}{module}.weight"].T
    return out


def convert_state_dict(hf_tensors: Mapping[str, torch.Tensor], cfg: HookedTransformerConfig) -> dict[str, torch.Tensor]:
    return gpt_bigcode.convert_state_dict(as_gpt_bigcode_tensors(hf_tensors, cfg.n_layers), cfg)
