"""Upstream's ``pretrained.weight_conversions`` names over LensLab's family converters.

Oracle: a tiny random Hugging Face model; its weights converted by the upstream-named function
and loaded into a HookedTransformer give Hugging Face's logits.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from unittest import mock

import pytest
import torch

from transformer_lens import HookedTransformer
from transformer_lens.pretrained import weight_conversions

SMALL = dict(vocab_size=61, hidden_size=32, num_attention_heads=4, num_hidden_layers=2, intermediate_size=48,
             max_position_embeddings=32, bos_token_id=0, eos_token_id=None, pad_token_id=0)  # fmt: skip

# upstream function -> (transformers config class, model class, extra config)
CASES = {
    "convert_llama_weights": ("LlamaConfig", "LlamaForCausalLM", dict(num_key_value_heads=2)),
    "convert_olmo3_weights": ("Olmo3Config", "Olmo3ForCausalLM", dict(num_key_value_heads=2)),
    "convert_apertus_weights": ("ApertusConfig", "ApertusForCausalLM", dict(num_key_value_heads=4)),
    "convert_gemma_weights": ("GemmaConfig", "GemmaForCausalLM", dict(num_key_value_heads=1, head_dim=8)),
    "convert_qwen2_weights": ("Qwen2Config", "Qwen2ForCausalLM", dict(num_key_value_heads=2)),
}


def _hf_model(case: str, directory) -> torch.nn.Module:
    import transformers

    config_class, model_class, extra = CASES[case]
    torch.manual_seed(0)
    model = getattr(transformers, model_class)(getattr(transformers, config_class)(**SMALL, **extra))
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.add_(0.1 * torch.randn_like(param))  # norms and biases off their defaults too
    model.save_pretrained(directory)
    return model.eval()


@pytest.mark.parametrize("case", sorted(CASES))
def test_converted_weights_give_hugging_faces_logits(case, tmp_path):
    hf_model = _hf_model(case, tmp_path)
    cfg = HookedTransformer.from_pretrained_no_processing(str(tmp_path), device="cpu").cfg
    if case == "convert_gemma_weights":
        # Upstream's Gemma converter folds sqrt(d_model) into W_E for a config that does not scale.
        cfg = dataclasses.replace(cfg, embedding_multiplier=1.0)
    state_dict = getattr(weight_conversions, case)(hf_model, cfg)
    model = HookedTransformer(cfg)
    model.load_state_dict_checked(state_dict)
    tokens = torch.randint(1, 61, (2, 9), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = hf_model(tokens).logits
        assert torch.allclose(model(tokens), expected, atol=1e-4)


def test_grouped_keys_use_upstreams_spelling(tmp_path):
    hf_model = _hf_model("convert_llama_weights", tmp_path)
    cfg = HookedTransformer.from_pretrained_no_processing(str(tmp_path), device="cpu").cfg
    sd = weight_conversions.convert_llama_weights(hf_model, cfg)
    assert {"blocks.0.attn._W_K", "blocks.0.attn._b_V"} <= set(sd) and "blocks.0.attn.W_K" not in sd
    assert sd["blocks.0.attn._W_K"].shape == (2, 32, 8)


def test_a_stand_in_object_tree_converts_like_the_module(tmp_path):
    """Upstream's converters read attributes, so stand-ins (Mock, SimpleNamespace) work with them."""
    hf_model = _hf_model("convert_olmo3_weights", tmp_path)
    cfg = HookedTransformer.from_pretrained_no_processing(str(tmp_path), device="cpu").cfg
    expected = weight_conversions.convert_olmo3_weights(hf_model, cfg)
    tensors = hf_model.state_dict()

    def tree(make):
        root = make()
        for key, value in tensors.items():
            node = root
            *path, leaf = key.split(".")
            for part in path:
                if part.isdigit():
                    while len(node) <= int(part):
                        node.append(make())
                    node = node[int(part)]
                    continue
                if part not in vars(node) and not (isinstance(node, mock.Mock) and part in node._mock_children):
                    setattr(node, part, [] if part == "layers" else make())
                node = getattr(node, part)
            setattr(node, leaf, value)
        return root

    for make in (SimpleNamespace, mock.Mock):
        got = weight_conversions.convert_olmo3_weights(tree(make), cfg)
        assert got.keys() == expected.keys()
        assert all(torch.equal(got[k], expected[k]) for k in expected)


def test_gpt_oss_comes_in_upstreams_linear_layout():
    from transformer_lens.loading.families import gpt_oss

    from transformer_lens.config import HookedTransformerConfig

    cfg = HookedTransformerConfig(
        n_layers=1, d_model=16, d_head=4, n_heads=4, n_key_value_heads=2, d_mlp=8, n_ctx=16, d_vocab=11,
        act_fn="silu", normalization_type="RMS", positional_embedding_type="rotary", gated_mlp=True,
        num_experts=3, experts_per_token=2, use_attention_sinks=True,
    )
    g = torch.Generator().manual_seed(0)
    r = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
    hf = {"model.embed_tokens.weight": r(11, 16), "model.norm.weight": r(16), "lm_head.weight": r(11, 16)}
    src = "model.layers.0."
    hf.update({src + "input_layernorm.weight": r(16), src + "post_attention_layernorm.weight": r(16),
               src + "self_attn.q_proj.weight": r(16, 16), src + "self_attn.k_proj.weight": r(8, 16),
               src + "self_attn.v_proj.weight": r(8, 16), src + "self_attn.o_proj.weight": r(16, 16),
               src + "self_attn.sinks": r(4), src + "mlp.router.weight": r(3, 16), src + "mlp.router.bias": r(3),
               src + "mlp.experts.gate_up_proj": r(3, 16, 16), src + "mlp.experts.gate_up_proj_bias": r(3, 16),
               src + "mlp.experts.down_proj": r(3, 8, 16), src + "mlp.experts.down_proj_bias": r(3, 16)})  # fmt: skip
    ours = gpt_oss.convert_state_dict(hf, cfg)
    upstream = weight_conversions.convert_gpt_oss_weights(hf, cfg)
    assert torch.equal(upstream["blocks.0.mlp.W_gate.weight"], hf[src + "mlp.router.weight"])
    assert torch.equal(upstream["blocks.0.mlp.W_gate.bias"], hf[src + "mlp.router.bias"])
    for e in range(3):
        for name in ("W_gate", "W_in", "W_out"):
            assert torch.equal(upstream[f"blocks.0.mlp.experts.{e}.{name}.weight"].T, ours[f"blocks.0.mlp.experts.{e}.{name}"])
            bias = "b_" + name[2:].lower()
            assert torch.equal(upstream[f"blocks.0.mlp.experts.{e}.{name}.bias"], ours[f"blocks.0.mlp.experts.{e}.{bias}"])
    # HF interleaves gate and up columns: even ones gate, odd ones up.
    assert torch.equal(upstream["blocks.0.mlp.experts.1.W_in.weight"], hf[src + "mlp.experts.gate_up_proj"][1, :, 1::2].T)


def test_every_upstream_name_resolves_and_unsupported_ones_say_so():
    for name in weight_conversions.__all__:
        assert callable(getattr(weight_conversions, name))
    with pytest.raises(NotImplementedError, match="convert_nanogpt_weights: nanoGPT .* not supported"):
        weight_conversions.convert_nanogpt_weights(torch.nn.Linear(2, 2), {})
    with pytest.raises(AttributeError):
        weight_conversions.convert_nothing_weights


def test_hubert_encoder_layers_are_renamed_head_by_head():
    import transformers

    from transformer_lens.config import HookedTransformerConfig

    torch.manual_seed(0)
    hf = transformers.HubertModel(transformers.HubertConfig(
        hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=24,
        conv_dim=(8, 8), conv_stride=(2, 2), conv_kernel=(3, 3), num_conv_pos_embeddings=4, num_conv_pos_embedding_groups=2,
    ))  # fmt: skip
    cfg = HookedTransformerConfig(n_layers=2, d_model=16, d_head=4, n_heads=4, d_mlp=24, n_ctx=8, d_vocab=1, act_fn="gelu")
    sd = weight_conversions.convert_hubert_weights(hf, cfg)
    layer = hf.encoder.layers[1]
    # Head h's query weight is rows h*d_head:(h+1)*d_head of q_proj, as [d_model, d_head].
    assert torch.equal(sd["blocks.1.attn.W_Q"][2], layer.attention.q_proj.weight[8:12].T)
    assert torch.equal(sd["blocks.1.attn.b_V"][3], layer.attention.v_proj.bias[12:16])
    assert torch.equal(sd["blocks.1.attn.W_O"][1], layer.attention.out_proj.weight[:, 4:8].T)
    assert torch.equal(sd["blocks.1.ln2.w"], layer.final_layer_norm.weight)
    assert torch.equal(sd["blocks.1.mlp.W_in"], layer.feed_forward.intermediate_dense.weight.T)
    assert torch.equal(sd["ln_final.b"], hf.encoder.layer_norm.bias)
    assert not any(key.startswith(("embed", "unembed")) for key in sd)
    with pytest.raises(ValueError, match="needs a HuBERT model with encoder.layers"):
        weight_conversions.convert_hubert_weights(torch.nn.Linear(2, 2), cfg)
