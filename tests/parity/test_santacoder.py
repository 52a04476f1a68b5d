"""SantaCoder (GPT2LMHeadCustomModel) against Hugging Face's GPT-BigCode on the same weights.

transformers has no class for santacoder's remote code, but the network is GPT-BigCode with
multi-query attention. So the oracle is a tiny random GPTBigCodeForCausalLM; its weights are
written again in santacoder's layout (GPT-2's Conv1D ``[in, out]`` tensors, ``attn.q_attn`` and
``attn.kv_attn`` = [key head, value head]) with santacoder's config.json, and that directory is
what LensLab loads.
"""

from __future__ import annotations

import json
from pathlib import Path

import decoder_parity as dp
import hf_checkpoints
import pytest
import torch

BIGCODE_SHAPE = dict(n_embd=32, n_head=4, n_layer=2, n_positions=64, n_inner=80, multi_query=True, activation_function="gelu_fast")
CONV1D = ("attn.c_proj", "mlp.c_fc", "mlp.c_proj")


def santacoder_config(bigcode_config) -> dict:
    """config.json as bigcode/santacoder ships it (model_type "gpt2", auto_map to its remote code)."""
    return {
        "architectures": ["GPT2LMHeadCustomModel"],
        "auto_map": {
            "AutoConfig": "configuration_gpt2_mq.GPT2CustomConfig",
            "AutoModelForCausalLM": "modeling_gpt2_mq.GPT2LMHeadCustomModel",
        },
        "model_type": "gpt2",
        "attention_head_type": "multiquery",
        "activation_function": bigcode_config.activation_function,
        "n_embd": bigcode_config.n_embd,
        "n_head": bigcode_config.n_head,
        "n_inner": bigcode_config.n_inner,
        "n_layer": bigcode_config.n_layer,
        "n_positions": bigcode_config.n_positions,
        "layer_norm_epsilon": bigcode_config.layer_norm_epsilon,
        "scale_attn_weights": True,
        "scale_attn_by_inverse_layer_idx": False,
        "reorder_and_upcast_attn": False,
        "vocab_size": bigcode_config.vocab_size,
        "bos_token_id": 0,
        "eos_token_id": 0,
    }


def santacoder_tensors(bigcode_model) -> dict[str, torch.Tensor]:
    """The BigCode model's weights under santacoder's names and layouts."""
    config = bigcode_model.config
    d_head = config.n_embd // config.n_head
    out = {}
    for key, value in bigcode_model.state_dict().items():
        if key == "lm_head.weight":  # tied to wte, as in santacoder
            continue
        if ".attn.c_attn." in key:
            block = key.split(".attn.c_attn.")[0]
            kind = key.rsplit(".", 1)[1]
            query, key_value = value.split([config.n_embd, 2 * d_head], dim=0)
            out[f"{block}.attn.q_attn.{kind}"] = query.T.contiguous() if kind == "weight" else query.clone()
            out[f"{block}.attn.kv_attn.{kind}"] = key_value.T.contiguous() if kind == "weight" else key_value.clone()
        elif key.endswith(".weight") and any(f".{module}." in key for module in CONV1D):
            out[key] = value.T.contiguous()
        else:
            out[key] = value.clone()
    return out


def write_santacoder_checkpoint(bigcode_model, directory: Path) -> Path:
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(santacoder_config(bigcode_model.config), indent=2))
    save_file(santacoder_tensors(bigcode_model), str(directory / "model.safetensors"), metadata={"format": "pt"})
    return directory


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """(santacoder-format directory, HF GPTBigCode reference with the same weights)."""
    reference = dp.build_checkpoint("GPTBigCode", BIGCODE_SHAPE, tmp_path_factory.mktemp("bigcode"), seed=11)
    assert torch.equal(reference.lm_head.weight, reference.transformer.wte.weight)
    directory = write_santacoder_checkpoint(reference, tmp_path_factory.mktemp("santacoder"))
    return directory, reference


@pytest.fixture(scope="module")
def model(checkpoint):
    return dp.load(checkpoint[0], processed=True)


def test_santacoder_layout_really_differs_from_bigcode(checkpoint):
    from safetensors.torch import load_file

    names = set(load_file(str(checkpoint[0] / "model.safetensors")))
    assert "transformer.h.0.attn.q_attn.weight" in names and "transformer.h.0.attn.c_attn.weight" not in names


def test_config_is_multi_query_gpt2(model):
    assert model.cfg.original_architecture == "GPT2LMHeadCustomModel"
    assert (model.cfg.n_heads, model.cfg.n_key_value_heads, model.cfg.d_mlp) == (4, 1, 80)
    assert model.cfg.act_fn == "gelu_fast" and model.cfg.positional_embedding_type == "standard"


@pytest.mark.parametrize("processed", [True, False], ids=["processed", "unprocessed"])
def test_log_probs_match_hugging_face_bigcode(checkpoint, model, processed):
    directory, reference = checkpoint
    ours = model if processed else dp.load(directory, processed=False)
    assert dp.max_log_prob_error(ours, reference) < dp.ATOL


@pytest.mark.parametrize("padding_side", ["left", "right"])
def test_padded_batches_match_unpadded_hugging_face(checkpoint, model, padding_side):
    assert dp.max_padded_error(model, checkpoint[1], padding_side) < dp.ATOL


def test_kv_cache_generation_equals_hugging_face_greedy(checkpoint, model):
    ours, theirs = dp.greedy_tokens_match_hf(model, checkpoint[1])
    assert torch.equal(ours, theirs)


def test_trust_remote_code_without_the_code_files_still_loads(checkpoint, model):
    # The hub repo's modeling_gpt2_mq.py is never run: config.json is read as plain fields.
    other = dp.load(checkpoint[0], processed=True, trust_remote_code=True)
    with torch.no_grad():
        torch.testing.assert_close(other(dp.TOKENS), model(dp.TOKENS))


def test_loads_by_name_from_the_hugging_face_cache(checkpoint, model, hf_home):
    from transformer_lens import HookedTransformer

    hf_checkpoints.install_in_hf_cache(hf_home, "bigcode/santacoder", checkpoint[0])
    by_name = HookedTransformer.from_pretrained("santacoder", device="cpu")
    assert by_name.cfg.model_name == "santacoder"
    assert dp.max_log_prob_error(by_name, checkpoint[1]) < dp.ATOL


def test_multi_head_santacoder_fails_in_one_line():
    from types import SimpleNamespace

    from transformer_lens.loading.families import santacoder

    config = SimpleNamespace(attention_head_type="multihead", n_embd=32, n_head=4, n_layer=1, vocab_size=dp.VOCAB)
    with pytest.raises(ValueError, match="attention_head_type='multihead'.*nearest supported") as error:
        santacoder.config_from_hf(config)
    assert "\n" not in str(error.value)
