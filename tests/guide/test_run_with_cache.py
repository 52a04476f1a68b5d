"""User guide, "Running Models & Caching Activations / Run Model and Cache Activations": the guide's block, verbatim."""

from __future__ import annotations

import torch
from guide_runner import run_guide_block

# Copied from the guide; keep it byte for byte as the guide has it.
GUIDE_BLOCK = r'''
import torch
import transformer_lens
from transformer_lens import ActivationCache

# --- Configuration ---
MODEL_NAME = "gpt2-small"
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
PROMPT = "Caching activations helps analysis."

# Load model
model = transformer_lens.HookedTransformer.from_pretrained(MODEL_NAME, device=DEVICE)
model.eval()

# Tokenize
input_ids = model.to_tokens(PROMPT)

# Run with cache
with torch.no_grad():
    # run_with_cache returns (output, cache_dict)
    logits, cache = model.run_with_cache(input_ids)

print("run_with_cache completed.")

# --- Verification ---
# 1. Verify Logits
assert isinstance(logits, torch.Tensor)
assert logits.shape[-1] == model.cfg.d_vocab
print(f"Logits shape: {logits.shape}")

# 2. Verify Cache
assert isinstance(cache, ActivationCache)
print(f"Cache object type: {type(cache)}")

# 3. Access and verify a specific cached activation
layer = 0
activation_key = f"blocks.{layer}.hook_resid_post"
assert activation_key in cache

resid_post_act = cache[activation_key]
assert isinstance(resid_post_act, torch.Tensor)
expected_shape = (input_ids.shape[0], input_ids.shape[1], model.cfg.d_model)
assert resid_post_act.shape == expected_shape
assert resid_post_act.device.type == model.cfg.device

print(f"Successfully accessed and verified: {activation_key}")
print(f"Shape: {resid_post_act.shape}, Device: {resid_post_act.device}")
'''


def test_run_with_cache(capsys):
    namespace = run_guide_block(GUIDE_BLOCK, "test_run_with_cache")
    out = capsys.readouterr().out
    model, input_ids = namespace["model"], namespace["input_ids"]
    logits, cache = namespace["logits"], namespace["cache"]
    with torch.no_grad():
        torch.testing.assert_close(logits, model(input_ids))
    # The default cache holds every hook point, so all of the names the guide lists are in it.
    for layer in range(model.cfg.n_layers):
        for name in ("hook_resid_pre", "hook_resid_mid", "hook_resid_post", "hook_attn_out", "hook_mlp_out",
                     "attn.hook_q", "attn.hook_k", "attn.hook_v", "attn.hook_z", "attn.hook_pattern",
                     "mlp.hook_post", "ln1.hook_scale"):
            assert f"blocks.{layer}.{name}" in cache, name
    assert "Successfully accessed and verified: blocks.0.hook_resid_post" in out
