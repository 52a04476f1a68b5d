"""The session fixtures themselves: the offline hub cache, the tokenizer, random checkpoints."""

from __future__ import annotations

import os
import re

import pytest
import torch


def test_environment_is_offline_and_points_at_the_temp_cache(hf_home):
    import huggingface_hub.constants as hub_constants

    assert os.environ["HF_HOME"] == str(hf_home)
    assert hub_constants.HF_HUB_OFFLINE
    assert os.path.commonpath([hub_constants.HF_HUB_CACHE, str(hf_home)]) == str(hf_home)


def test_cache_layout_matches_huggingface_hub(gpt2_hub):
    for repo_id in gpt2_hub.repo_ids:
        repo_dir = gpt2_hub.hf_home / "hub" / ("models--" + repo_id.replace("/", "--"))
        commit = (repo_dir / "refs" / "main").read_text()
        assert re.fullmatch(r"[0-9a-f]{40}", commit)
        snapshot = repo_dir / "snapshots" / commit
        assert snapshot == gpt2_hub.snapshots[repo_id]
        names = {path.name for path in snapshot.iterdir()}
        assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= names
        for path in snapshot.iterdir():
            assert path.is_symlink() and path.resolve().parent == repo_dir / "blobs"


@pytest.mark.parametrize("repo_id", ["gpt2", "openai-community/gpt2"])
def test_transformers_resolves_gpt2_offline(repo_id):
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(repo_id)
    assert (config.n_layer, config.n_head, config.n_embd, config.vocab_size) == (8, 4, 64, 50257)
    assert config.architectures == ["GPT2LMHeadModel"]
    assert config.n_ctx == config.n_positions == 1024  # as in the real hub config.json
    model = AutoModelForCausalLM.from_pretrained(repo_id)
    assert type(model).__name__ == "GPT2LMHeadModel"


def test_huggingface_hub_resolves_files_offline(gpt2_hub):
    from huggingface_hub import hf_hub_download, snapshot_download

    assert snapshot_download("gpt2") == str(gpt2_hub.snapshots["gpt2"])
    assert hf_hub_download("gpt2", "config.json").startswith(str(gpt2_hub.hf_home))


def test_unknown_repo_fails_fast_without_network():
    from transformers import AutoConfig

    with pytest.raises(OSError):
        AutoConfig.from_pretrained("gpt2-medium")


def test_tokenizer_is_gpt2s_real_one():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained("gpt2")
    assert tokenizer(" Paris").input_ids == [6342]
    assert tokenizer(" Rome").input_ids == [10598]
    assert tokenizer("The quick brown fox").input_ids == [464, 2068, 7586, 21831]
    assert tokenizer.bos_token == tokenizer.eos_token == "<|endoftext|>"
    assert tokenizer.eos_token_id == 50256
    assert tokenizer.model_max_length == 1024


def test_guide_patching_prompts_have_equal_length(gpt2_tokenizer):
    # The guide's patching example asserts its clean and corrupted prompts tokenize alike.
    clean = gpt2_tokenizer("The Eiffel Tower is located in").input_ids
    corrupted = gpt2_tokenizer("The Colosseum is located in").input_ids
    assert len(clean) == len(corrupted)


def test_local_checkpoint_dir_has_the_hub_weights(gpt2_checkpoint_dir, gpt2_hf_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    hub = AutoModelForCausalLM.from_pretrained("gpt2")
    local = gpt2_hf_model.state_dict()
    for name, tensor in hub.state_dict().items():
        torch.testing.assert_close(local[name], tensor, rtol=0, atol=0)
    assert AutoTokenizer.from_pretrained(gpt2_checkpoint_dir)(" Paris").input_ids == [6342]


def test_random_weights_are_not_hf_init(gpt2_hf_model):
    # LayerNorm weights and biases away from (1, 0), so weight folding is really exercised.
    ln = gpt2_hf_model.transformer.h[0].ln_1
    assert (ln.weight - 1).abs().max() > 0.1 and ln.bias.abs().max() > 0.05
    assert gpt2_hf_model.transformer.h[0].attn.c_attn.bias.abs().max() > 0.05


def test_make_gpt2_checkpoint(make_gpt2_checkpoint):
    from transformers import GPT2LMHeadModel

    directory, model = make_gpt2_checkpoint(n_layer=2, n_head=2, n_embd=32, activation_function="relu", seed=3)
    reloaded = GPT2LMHeadModel.from_pretrained(directory).eval()
    assert reloaded.config.activation_function == "relu"
    assert reloaded.config.vocab_size == 1000
    tokens = torch.randint(0, 1000, (2, 7), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(reloaded(tokens).logits, model(tokens).logits)
    again, _ = make_gpt2_checkpoint(n_layer=2, n_head=2, n_embd=32, activation_function="relu", seed=3)
    assert again != directory
    assert (again / "model.safetensors").read_bytes() == (directory / "model.safetensors").read_bytes()
