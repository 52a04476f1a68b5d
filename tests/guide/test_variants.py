"""The guide's "Variants" snippets, verbatim, plus the variants it describes in prose.

A snippet assumes the state its section's block left behind: a loaded `model` and the
`input_ids` of a prompt. Each is stored with the guide's list-item indentation, which
run_guide_block removes.
"""

from __future__ import annotations

import pytest
import torch
from guide_runner import run_guide_block

# Run Model with Forward Pass (Get Logits) / Variants / Batch Input.
BATCH_INPUT = r'''
  prompts = ["Sentence 1.", "Another sentence."]
  input_ids = model.to_tokens(prompts) # Handles padding
  # input_ids shape: [2, max_sequence_length]
  logits = model(input_ids)
  # logits shape: [2, max_sequence_length, d_vocab]
'''

# Run Model and Cache Activations (`run_with_cache`) / Variants / Caching Specific Activations.
NAMES_FILTER = r'''
  # Example 1: Cache only layer 0 attention output (hook_z) and final layer norm scale
  names_filter = ["blocks.0.attn.hook_z", "ln_final.hook_scale"]
  logits, cache = model.run_with_cache(input_ids, names_filter=names_filter)
  print(f"Cached keys with list filter: {list(cache.keys())}")

  # Example 2: Cache all residual stream outputs using a lambda function
  names_filter_fn = lambda name: "hook_resid" in name
  logits_resid, cache_resid = model.run_with_cache(input_ids, names_filter=names_filter_fn)
  print(f"Cached keys with function filter: {list(cache_resid.keys())}")
'''

# Obtain Logits and Loss for Evaluation / Variants / Per-Token Loss.
LOSS_PER_TOKEN = r'''
  # loss_per_tok shape: [batch, pos-1]
  loss_per_tok = model(input_ids, return_type="loss", loss_per_token=True)
'''


@pytest.fixture(scope="module")
def model():
    import transformer_lens

    model = transformer_lens.HookedTransformer.from_pretrained("gpt2-small", device="cpu")
    model.eval()
    return model


@pytest.fixture
def input_ids(model):
    return model.to_tokens("Caching activations helps analysis.")


def test_batch_input(model):
    namespace = run_guide_block(BATCH_INPUT, "batch_input", {"model": model})
    input_ids, logits = namespace["input_ids"], namespace["logits"]
    assert input_ids.shape[0] == 2
    assert logits.shape == (2, input_ids.shape[1], model.cfg.d_vocab)
    # Each row starts with BOS and holds its prompt's tokens; the shorter one is padded.
    for row, prompt in zip(input_ids, namespace["prompts"]):
        single = model.to_tokens(prompt)[0]
        assert row[: len(single)].tolist() == single.tolist()


def test_names_filter(model, input_ids, capsys):
    namespace = run_guide_block(NAMES_FILTER, "names_filter", {"model": model, "input_ids": input_ids})
    out = capsys.readouterr().out
    assert set(namespace["cache"].keys()) == {"blocks.0.attn.hook_z", "ln_final.hook_scale"}
    resid_names = {
        f"blocks.{layer}.hook_resid_{where}"
        for layer in range(model.cfg.n_layers)
        for where in ("pre", "mid", "post")
    }
    assert set(namespace["cache_resid"].keys()) == resid_names
    # Filtering what is cached does not change the output.
    torch.testing.assert_close(namespace["logits"], namespace["logits_resid"])
    assert "Cached keys with list filter:" in out


def test_names_filter_single_string(model, input_ids):
    _, cache = model.run_with_cache(input_ids, names_filter="blocks.0.attn.hook_z")
    assert list(cache.keys()) == ["blocks.0.attn.hook_z"]


def test_loss_per_token(model, input_ids):
    namespace = run_guide_block(LOSS_PER_TOKEN, "loss_per_token", {"model": model, "input_ids": input_ids})
    loss_per_tok = namespace["loss_per_tok"]
    assert loss_per_tok.shape == (input_ids.shape[0], input_ids.shape[1] - 1)
    torch.testing.assert_close(loss_per_tok.mean(), model(input_ids, return_type="loss"))


def test_return_type_both(model, input_ids):
    logits, loss = model(input_ids, return_type="both")
    torch.testing.assert_close(logits, model(input_ids))
    torch.testing.assert_close(loss, model(input_ids, return_type="loss"))


def test_run_with_cache_return_type_loss(model, input_ids):
    loss, cache = model.run_with_cache(input_ids, return_type="loss")
    assert loss.ndim == 0
    assert "blocks.0.hook_resid_post" in cache
