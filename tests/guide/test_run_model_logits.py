"""User guide, "Running Models & Caching Activations / Run Model with Forward Pass (Get Logits)": the guide's block, verbatim."""

from __future__ import annotations

import torch
from guide_runner import run_guide_block

# Copied from the guide; keep it byte for byte as the guide has it.
GUIDE_BLOCK = r'''
import torch
import transformer_lens

# --- Configuration ---
MODEL_NAME = "gpt2-small"
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
PROMPT = "The quick brown fox jumps over the lazy dog."

# Load the model
model = transformer_lens.HookedTransformer.from_pretrained(MODEL_NAME, device=DEVICE)
model.eval() # Set to evaluation mode is good practice

# Tokenize the input text
# HookedTransformer has a built-in tokenizer accessed via model.tokenizer
# or convenience methods like to_tokens
input_ids = model.to_tokens(PROMPT) 
# input_ids shape: [1, sequence_length]
print(f"Input shape: {input_ids.shape}")

# Run the forward pass by calling the model object
with torch.no_grad(): # Important for inference
    logits = model(input_ids)

print("Forward pass completed.")

# --- Verification ---
assert logits is not None
assert isinstance(logits, torch.Tensor)
expected_shape = (input_ids.shape[0], input_ids.shape[1], model.cfg.d_vocab)
assert logits.shape == expected_shape
assert logits.device.type == model.cfg.device
print(f"Logits shape: {logits.shape}")
print(f"Logits device: {logits.device}")
'''


def test_run_model_logits(capsys):
    namespace = run_guide_block(GUIDE_BLOCK, "test_run_model_logits")
    out = capsys.readouterr().out
    model, input_ids, logits = namespace["model"], namespace["input_ids"], namespace["logits"]
    # BOS plus the 10 tokens of "The quick brown fox jumps over the lazy dog."
    assert input_ids.tolist() == [[50256, 464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13]]
    assert logits.shape == (1, 11, 50257)
    assert logits.dtype == torch.float32 and torch.isfinite(logits).all()
    assert not model.training
    assert "Forward pass completed." in out
