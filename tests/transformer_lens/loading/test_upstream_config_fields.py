"""HookedTransformerConfig fields from a Hugging Face config, field by field as upstream gives them.

The expected values are what upstream TransformerLens 3.9.0's ``get_pretrained_model_config``
returned (``fold_ln=False``) for the same configs, saved to a local directory named after the
case (upstream's ``model_name`` is that directory's name). Each case lists the fields where it
differs from ``BASE``, so the table stays small.

Where we deliberately differ from upstream (the checkpoint's numbers win over a field that would
not fit its weights or would compute something Hugging Face does not), the test says so:

- ``tokenizer_name``: upstream sets the official name always; we set it once a tokenizer is
  actually loaded (else the model would try to load a tokenizer that is not there);
- GPT-2 ``d_mlp``: upstream ignores ``n_inner`` (4 * d_model always); we use the MLP width the
  checkpoint's weights have;
- Gemma ``act_fn``: upstream's by-name table says "gelu"; we use the activation Hugging Face
  computes (``hidden_activation``, the tanh approximation);
- BERT (HookedEncoder) keeps its own ``model_name`` (with the organisation) and reads
  ``tie_word_embeddings`` from the checkpoint (upstream leaves the default, False).
"""

from __future__ import annotations

import pytest
import transformers

from transformer_lens import HookedTransformerConfig
from transformer_lens.loading.families import bert
from transformer_lens.loading.pipeline import config_fields_from_hf

VOCAB = 97
SMALL = dict(hidden_size=32, num_attention_heads=4, num_hidden_layers=2, max_position_embeddings=64)

BASE = dict(
    n_ctx=64, eps=1e-5, d_head=8, n_heads=4, normalization_type="LN", positional_embedding_type="standard",
    rotary_dim=None, rotary_base=10000, rotary_adjacent_pairs=False, n_key_value_heads=None, parallel_attn_mlp=False,
    use_local_attn=False, window_size=None, attn_types=None, use_attn_scale=True, scale_attn_by_inverse_layer_idx=False,
    final_rms=False, gated_mlp=False, default_prepend_bos=True, tokenizer_prepends_bos=None,
    initializer_range=0.8 / 32**0.5, attention_dir="causal", attn_only=False,
)  # fmt: skip
LLAMA_LIKE = dict(
    eps=1e-6, act_fn="silu", normalization_type="RMS", positional_embedding_type="rotary", rotary_dim=8,
    final_rms=True, gated_mlp=True,
)  # fmt: skip

# case -> (config class prefix, HF config kwargs, upstream's fields that differ from BASE)
CASES = {
    "gpt2": ("GPT2", dict(n_embd=32, n_head=4, n_layer=2, n_positions=64),
             dict(d_mlp=128, act_fn="gelu_new", original_architecture="GPT2LMHeadModel")),
    "neox-parallel": ("GPTNeoX", dict(SMALL, intermediate_size=64, use_parallel_residual=True,
                                      rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.5}),
                      dict(d_mlp=64, act_fn="gelu", positional_embedding_type="rotary", rotary_dim=4, parallel_attn_mlp=True,
                           default_prepend_bos=False, original_architecture="GPTNeoXForCausalLM")),
    "neox-sequential": ("GPTNeoX", dict(SMALL, num_attention_heads=2, intermediate_size=48, use_parallel_residual=False),
                        dict(d_mlp=48, d_head=16, n_heads=2, act_fn="gelu", positional_embedding_type="rotary", rotary_dim=4,
                             default_prepend_bos=False, original_architecture="GPTNeoXForCausalLM")),
    "neo-local": ("GPTNeo", dict(hidden_size=32, num_heads=4, num_layers=2, attention_types=[[["global", "local"], 1]],
                                 window_size=3, max_position_embeddings=64),
                  dict(d_mlp=128, act_fn="gelu_new", use_local_attn=True, window_size=3, attn_types=["global", "local"],
                       use_attn_scale=False, original_architecture="GPTNeoForCausalLM")),
    "gptj": ("GPTJ", dict(n_embd=32, n_head=4, n_layer=2, rotary_dim=4, n_positions=64),
             dict(d_mlp=128, act_fn="gelu_new", positional_embedding_type="rotary", rotary_dim=4, rotary_adjacent_pairs=True,
                  parallel_attn_mlp=True, original_architecture="GPTJForCausalLM")),
    "opt": ("OPT", dict(SMALL, ffn_dim=64, word_embed_proj_dim=32),
            dict(d_mlp=64, act_fn="relu", original_architecture="OPTForCausalLM")),
    "lm-gqa": ("Llama", dict(SMALL, num_key_value_heads=2, intermediate_size=64, rms_norm_eps=1e-6, rope_theta=5e5),
               dict(LLAMA_LIKE, d_mlp=64, n_key_value_heads=2, rotary_base=500000.0, original_architecture="LlamaForCausalLM")),
    "lm-mha": ("Llama", dict(SMALL, num_key_value_heads=4, intermediate_size=48),
               dict(LLAMA_LIKE, d_mlp=48, original_architecture="LlamaForCausalLM")),
    "mistral-window": ("Mistral", dict(SMALL, num_key_value_heads=2, intermediate_size=64, sliding_window=3, max_position_embeddings=4096),
                       dict(LLAMA_LIKE, n_ctx=2048, d_mlp=64, n_key_value_heads=2, use_local_attn=True, window_size=3,
                            attn_types=["local", "local"], final_rms=False, original_architecture="MistralForCausalLM")),
    "mistral-nowindow": ("Mistral", dict(SMALL, num_key_value_heads=2, intermediate_size=64, sliding_window=None, head_dim=16),
                         dict(LLAMA_LIKE, n_ctx=2048, d_mlp=64, d_head=16, rotary_dim=16, n_key_value_heads=2, final_rms=False,
                              original_architecture="MistralForCausalLM")),
    "qwen2": ("Qwen2", dict(SMALL, num_key_value_heads=2, intermediate_size=64, rope_theta=1e6),
              dict(LLAMA_LIKE, d_mlp=64, n_key_value_heads=2, rotary_base=1000000, default_prepend_bos=False,
                   tokenizer_prepends_bos=True, initializer_range=0.02, original_architecture="Qwen2ForCausalLM")),
}  # fmt: skip

# Full-size checkpoints whose fields upstream takes from a by-name table instead of the config:
# our fields from the checkpoint's real config.json values must equal that table.
NAMED = {
    "meta-llama/Llama-2-7b-hf": ("Llama", dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                                               num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=4096,
                                               rms_norm_eps=1e-5),
                                 dict(n_ctx=4096, d_mlp=11008, d_head=128, n_heads=32, eps=1e-5, n_key_value_heads=None, rotary_dim=128,
                                      rotary_base=10000)),
    "meta-llama/Meta-Llama-3-8B": ("Llama", dict(vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                                                 num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=8192,
                                                 rms_norm_eps=1e-5, rope_theta=500000.0),
                                   dict(n_ctx=8192, d_mlp=14336, d_head=128, n_heads=32, eps=1e-5, n_key_value_heads=8, rotary_dim=128,
                                        rotary_base=500000.0)),
    "google/gemma-2b": ("Gemma", dict(vocab_size=256000, hidden_size=2048, intermediate_size=16384, num_hidden_layers=18,
                                      num_attention_heads=8, num_key_value_heads=1, head_dim=256, max_position_embeddings=8192,
                                      rms_norm_eps=1e-6),
                        dict(n_ctx=8192, d_mlp=16384, d_head=256, n_heads=8, eps=1e-6, n_key_value_heads=1, rotary_dim=256,
                             rotary_base=10000, initializer_range=0.02)),
    "google/gemma-7b": ("Gemma", dict(vocab_size=256000, hidden_size=3072, intermediate_size=24576, num_hidden_layers=28,
                                      num_attention_heads=16, num_key_value_heads=16, head_dim=256, max_position_embeddings=8192,
                                      rms_norm_eps=1e-6),
                        dict(n_ctx=8192, d_mlp=24576, d_head=256, n_heads=16, eps=1e-6, n_key_value_heads=16, rotary_dim=256,
                             rotary_base=10000, initializer_range=0.02)),
}  # fmt: skip


def _hf_config(prefix: str, kwargs: dict):
    return getattr(transformers, f"{prefix}Config")(vocab_size=VOCAB, bos_token_id=0, eos_token_id=0, pad_token_id=0, **kwargs)


def _ours(hf_config, architecture: str, name: str) -> dict:
    fields = config_fields_from_hf(hf_config, architecture, name)
    return HookedTransformerConfig(**fields, device="cpu").to_dict()


def _architecture(prefix: str) -> str:
    return "GPT2LMHeadModel" if prefix == "GPT2" else f"{prefix}ForCausalLM"


@pytest.mark.parametrize("case", sorted(CASES))
def test_config_fields_equal_upstreams(case):
    prefix, kwargs, upstream = CASES[case]
    expected = {**BASE, **upstream, "model_name": case}
    ours = _ours(_hf_config(prefix, kwargs), _architecture(prefix), f"/some/dir/{case}")
    assert {k: ours[k] for k in expected} == expected


@pytest.mark.parametrize("name", sorted(NAMED))
def test_fields_of_real_configs_equal_upstreams_by_name_table(name):
    prefix, kwargs, upstream = NAMED[name]
    expected = {**BASE, **LLAMA_LIKE, **upstream, "original_architecture": f"{prefix}ForCausalLM", "model_name": name.split("/")[1]}
    hf_config = getattr(transformers, f"{prefix}Config")(**kwargs)
    ours = _ours(hf_config, f"{prefix}ForCausalLM", name)
    if prefix == "Gemma":  # deliberate: Hugging Face's activation, not upstream's by-name "gelu"
        assert ours["act_fn"] == "gelu_pytorch_tanh"
        expected["act_fn"] = "gelu_pytorch_tanh"
    if expected["initializer_range"] == BASE["initializer_range"]:  # upstream derives it from d_model
        expected["initializer_range"] = 0.8 / kwargs["hidden_size"] ** 0.5
    assert {k: ours[k] for k in expected} == expected


def test_gpt2_d_mlp_follows_the_checkpoint_where_upstream_ignores_n_inner():
    ours = _ours(_hf_config("GPT2", dict(n_embd=32, n_head=4, n_layer=2, n_positions=64, n_inner=48)), "GPT2LMHeadModel", "x")
    assert ours["d_mlp"] == 48  # upstream: 128, which the checkpoint's [32, 48] MLP weights do not fit


def test_bert_fields_equal_upstreams():
    hf_config = _hf_config("Bert", dict(SMALL, intermediate_size=64, layer_norm_eps=1e-12))
    ours = HookedTransformerConfig(**bert.config_from_hf(hf_config), device="cpu").to_dict()
    expected = dict(n_ctx=64, d_mlp=64, eps=1e-12, act_fn="gelu", normalization_type="LN", positional_embedding_type="standard",
                    attention_dir="bidirectional", default_prepend_bos=True, d_vocab=VOCAB, use_attn_scale=True)  # fmt: skip
    assert {k: ours[k] for k in expected} == expected

