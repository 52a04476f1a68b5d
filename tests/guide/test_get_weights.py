"""User guide, "Component Analysis / Access Model Weights": the guide's block, verbatim."""

from __future__ import annotations

from guide_runner import run_guide_block

# Copied from the guide; keep it byte for byte as the guide has it.
GUIDE_BLOCK = r'''
import torch
import transformer_lens

# --- Configuration ---
MODEL_NAME = "gpt2-small"
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"

# Load model
model = transformer_lens.HookedTransformer.from_pretrained(MODEL_NAME, device=DEVICE)
model.eval()

# --- Method 1: Access Stacked Weights ---
W_V_stacked = model.W_V
W_O_stacked = model.W_O

print(f"\nAccessed stacked W_V: {W_V_stacked.shape}")
print(f"Accessed stacked W_O: {W_O_stacked.shape}")

# --- Method 2: Access Layer-by-Layer Weights ---
layer_idx = 1
head_idx = 2 
layer_block = model.blocks[layer_idx]
W_V_layer = layer_block.attn.W_V # Shape: [n_heads, d_model, d_head]
W_O_layer = layer_block.attn.W_O # Shape: [n_heads, d_head, d_model]
b_V_layer = layer_block.attn.b_V # Shape: [n_heads, d_head]
W_in_layer = layer_block.mlp.W_in # Shape: [d_model, d_mlp]
b_in_layer = layer_block.mlp.b_in # Shape: [d_mlp]

print(f"\nAccessed layer {layer_idx} W_V_layer: {W_V_layer.shape}")
print(f"Accessed layer {layer_idx} W_O_layer: {W_O_layer.shape}")
print(f"Accessed layer {layer_idx} b_V_layer: {b_V_layer.shape}")
print(f"Accessed layer {layer_idx} W_in_layer: {W_in_layer.shape}")
print(f"Accessed layer {layer_idx} b_in_layer: {b_in_layer.shape}")

# Verification: Compare layer-wise access to slice of stacked property
assert torch.allclose(W_V_layer, W_V_stacked[layer_idx])
assert torch.allclose(W_O_layer, W_O_stacked[layer_idx])
# Note: Stacked bias properties (like model.b_V) might exist but are less common than weights
print(f"Verified layer-{layer_idx} weights match stacked weights.")
'''


def test_get_weights(capsys):
    namespace = run_guide_block(GUIDE_BLOCK, "test_get_weights")
    out = capsys.readouterr().out
    n_layers, n_heads, d_model, d_head, d_mlp = 8, 4, 64, 16, 256
    assert namespace["W_V_stacked"].shape == (n_layers, n_heads, d_model, d_head)
    assert namespace["W_O_stacked"].shape == (n_layers, n_heads, d_head, d_model)
    assert namespace["b_V_layer"].shape == (n_heads, d_head)
    assert namespace["W_in_layer"].shape == (d_model, d_mlp)
    assert namespace["b_in_layer"].shape == (d_mlp,)
    assert "Verified layer-1 weights match stacked weights." in out
