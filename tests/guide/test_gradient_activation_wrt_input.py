"""User guide, "Gradient Computation / Gradient of Activation w.r.t. Input Embedding": the guide's block, verbatim."""

from __future__ import annotations

from guide_runner import run_guide_block

# Copied from the guide; keep it byte for byte as the guide has it.
GUIDE_BLOCK = r'''
import torch
import transformer_lens
from transformer_lens import utils

# --- Configuration ---
MODEL_NAME = "gpt2-small"
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
PROMPT = "Gradient w.r.t. inputs"
TARGET_LAYER = 4
TARGET_HOOK_NAME = utils.get_act_name("resid_post", TARGET_LAYER) # Grad OF Layer 4 resid_post
INPUT_HOOK_NAME = "hook_embed" # Grad W.R.T output of token embedding

# Load Model
model = transformer_lens.HookedTransformer.from_pretrained(MODEL_NAME, device=DEVICE)
model.eval()
input_ids = model.to_tokens(PROMPT)

# --- Prepare for Gradient Calculation ---
# Store input embedding and target activation
stored_target_activation = None
stored_input_embed = None

def store_target_hook(activation, hook):
    global stored_target_activation
    # No retain_grad needed here if we only differentiate *through* it
    stored_target_activation = activation
    return activation

def store_input_hook(activation, hook):
    global stored_input_embed
    # Ensure the input embed requires grad
    activation.requires_grad_(True)
    # CRITICAL: Retain grad as we want the gradient *stored* on this tensor
    activation.retain_grad()
    stored_input_embed = activation
    return activation

# --- Run Forward Pass with Gradients Enabled and Hooks ---
print(f"Running forward pass, hooking {TARGET_HOOK_NAME} and {INPUT_HOOK_NAME}...")
with torch.enable_grad():
    # Need to hook *both* the input and the target activation points
    logits = model.run_with_hooks(
        input_ids,
        fwd_hooks=[(INPUT_HOOK_NAME, store_input_hook),
                   (TARGET_HOOK_NAME, store_target_hook)]
    )

    assert stored_input_embed is not None, "Input hook failed"
    assert stored_target_activation is not None, "Target hook failed"
    assert stored_input_embed.requires_grad, "Input embed does not require grad"
    assert stored_input_embed.retains_grad, "Input embed does not retain grad"

    # To calculate the gradient d(activation)/d(input), we need a scalar value
    # derived from the activation to call .backward() on.
    # Summing the target activation is standard.
    target_scalar = stored_target_activation.sum()
    print(f"Target activation sum: {target_scalar.item():.4f}")

    # --- Calculate Gradient ---
    print(f"Calculating d({TARGET_HOOK_NAME}.sum()) / d({INPUT_HOOK_NAME})...")
    # Clear any previous gradients on the input embed
    if stored_input_embed.grad is not None: 
        stored_input_embed.grad.zero_()
    
    # Calculate gradients
    target_scalar.backward()
    
    # Gradient is now in stored_input_embed.grad
    grad_tensor = stored_input_embed.grad

assert grad_tensor is not None, "Gradient calculation failed"
assert grad_tensor.shape == stored_input_embed.shape
print(f"Gradient tensor computed. Shape: {grad_tensor.shape}")
print(f"Gradient tensor mean abs: {torch.abs(grad_tensor).mean().item():.6f}")
# Basic check: gradient should not be zero everywhere
assert torch.abs(grad_tensor).mean().item() > 1e-9
'''


def test_gradient_activation_wrt_input(capsys):
    namespace = run_guide_block(GUIDE_BLOCK, "test_gradient_activation_wrt_input")
    out = capsys.readouterr().out
    assert namespace["TARGET_HOOK_NAME"] == "blocks.4.hook_resid_post"
    grad, embed = namespace["grad_tensor"], namespace["stored_input_embed"]
    assert grad.shape == embed.shape == (1, namespace["input_ids"].shape[1], 64)
    # d(sum of resid_post)/d(embed): every position reaches the sum, so no row is all zero.
    assert (grad[0].abs().sum(dim=-1) > 0).all()
    assert "Gradient tensor computed." in out
