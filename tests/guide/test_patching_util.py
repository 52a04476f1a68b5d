"""User guide, "Activation Patching / Use Patching Utilities": the guide's block, verbatim."""

from __future__ import annotations

import torch
from guide_runner import run_guide_block

# Copied from the guide; keep it byte for byte as the guide has it.
GUIDE_BLOCK = r'''
import torch
import transformer_lens
from transformer_lens import patching, utils

# --- Configuration ---
MODEL_NAME = "gpt2-small"
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
CLEAN_PROMPT = "The Eiffel Tower is located in"
CORRUPTED_PROMPT = "The Colosseum is located in"
ANSWER = " Paris"
WRONG_ANSWER = " Rome"

# Load Model & Prepare Inputs
model = transformer_lens.HookedTransformer.from_pretrained(MODEL_NAME, device=DEVICE)
model.eval()
clean_tokens = model.to_tokens(CLEAN_PROMPT)
corrupted_tokens = model.to_tokens(CORRUPTED_PROMPT)
assert clean_tokens.shape == corrupted_tokens.shape # Ensure same length

# Define Patching Metric (Logit difference)
answer_token_index = model.to_single_token(ANSWER)
wrong_answer_token_index = model.to_single_token(WRONG_ANSWER)
def logit_diff_metric(logits):
    final_token_logits = logits[:, -1, :]
    return (final_token_logits[:, answer_token_index] - 
            final_token_logits[:, wrong_answer_token_index]).mean()

# Generate Clean Cache
with torch.no_grad():
    _, clean_cache = model.run_with_cache(clean_tokens)

# Run Patching Function (Example: Patching all attention head components)
# This function iterates through layers, heads, and patch types (out, q, k, v, pattern)
print(f"Running attention head patching utility...")
with torch.no_grad():
    patching_results = patching.get_act_patch_attn_head_all_pos_every(
        model=model,
        corrupted_tokens=corrupted_tokens,
        clean_cache=clean_cache,
        metric=logit_diff_metric
    )
print("Patching function completed.")

# --- Verification ---
assert isinstance(patching_results, torch.Tensor)
# Shape: [patch_type=5, layer, head_index]
expected_shape = (5, model.cfg.n_layers, model.cfg.n_heads)
assert patching_results.shape == expected_shape
assert patching_results.device.type == DEVICE
print(f"Patching results verified. Shape: {patching_results.shape}")
# Example: Access result for patching Value vectors (type 3) in layer 5, head 10
# value_patch_L5H10 = patching_results[3, 5, 10] 
# print(f"Example result (Patch V, L5, H10): {value_patch_L5H10.item():.4f}")
'''


def test_patching_util(capsys):
    namespace = run_guide_block(GUIDE_BLOCK, "test_patching_util")
    out = capsys.readouterr().out
    model, results = namespace["model"], namespace["patching_results"]
    assert results.shape == (5, model.cfg.n_layers, model.cfg.n_heads) == (5, 8, 4)
    assert torch.isfinite(results).all()
    # Patching changes the metric somewhere: the sweep did run distinct forward passes.
    assert results.std() > 0
    assert "Patching results verified. Shape: torch.Size([5, 8, 4])" in out
