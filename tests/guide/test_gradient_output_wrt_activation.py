"""User guide, "Gradient Computation / Gradient of Output Probability w.r.t. Activation": the guide's block, verbatim."""

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
PROMPT = "The capital of France is"
TARGET_TOKEN = " Paris"
TARGET_POS = -1 # Gradient for the prediction at the last position
GRAD_LAYER = 6
GRAD_HOOK_NAME = utils.get_act_name("mlp_out", GRAD_LAYER) # Grad w.r.t Layer 6 MLP output

# Load Model
model = transformer_lens.HookedTransformer.from_pretrained(MODEL_NAME, device=DEVICE)
model.eval() # Keep eval mode for consistency, but allow gradients
input_ids = model.to_tokens(PROMPT)
target_token_id = model.to_single_token(TARGET_TOKEN)

# --- Prepare for Gradient Calculation ---
# Store the activation tensor we want the gradient OF
stored_activation_for_grad = None
def store_activation_hook_for_grad(activation, hook):
    global stored_activation_for_grad
    # CRITICAL: Retain grad for this intermediate (non-leaf) tensor
    activation.retain_grad()
    stored_activation_for_grad = activation
    return activation

# --- Run Forward Pass with Gradients Enabled and Hook ---
print(f"Running forward pass with grad enabled, hooking {GRAD_HOOK_NAME}...")

with torch.enable_grad(): # Ensure gradients are computed
    # Apply the hook to store the activation tensor we need
    logits = model.run_with_hooks(
        input_ids,
        fwd_hooks=[(GRAD_HOOK_NAME, store_activation_hook_for_grad)],
    )

    # Calculate the specific output probability we care about
    log_probs = torch.log_softmax(logits, dim=-1)
    target_log_prob = log_probs[0, TARGET_POS, target_token_id]
    target_prob = torch.exp(target_log_prob)

print(f"Target Log Prob ('{TARGET_TOKEN}' at pos {TARGET_POS}): {target_log_prob.item():.4f}")
print(f"Target Prob ('{TARGET_TOKEN}' at pos {TARGET_POS}): {target_prob.item():.4f}")

# Check if the stored activation tensor exists and retains grad
assert stored_activation_for_grad is not None, "Hook did not store activation"
# Note: requires_grad might be True automatically, but retain_grad is crucial
assert stored_activation_for_grad.requires_grad, "Stored activation does not require grad. Check enable_grad context."
assert stored_activation_for_grad.retains_grad, "Stored activation does not retain grad. Missing retain_grad() call?"

# --- Calculate Gradient ---
print(f"Calculating d(Prob) / d({GRAD_HOOK_NAME})...")
# Compute the gradient of the target probability w.r.t the stored activation
# Clear previous gradients if any (good practice)
if stored_activation_for_grad.grad is not None:
    stored_activation_for_grad.grad.zero_()
    
target_prob.backward() # Backpropagate from the target probability

# The gradient is now stored in stored_activation_for_grad.grad
grad_tensor = stored_activation_for_grad.grad

assert grad_tensor is not None, "Gradient calculation failed"
assert grad_tensor.shape == stored_activation_for_grad.shape
print(f"Gradient tensor computed. Shape: {grad_tensor.shape}")
print(f"Gradient tensor mean abs: {torch.abs(grad_tensor).mean().item():.6f}")
# Basic check: gradient should not be zero everywhere if target prob > 0
assert torch.abs(grad_tensor).mean().item() > 1e-9
'''


def test_gradient_output_wrt_activation(capsys):
    namespace = run_guide_block(GUIDE_BLOCK, "test_gradient_output_wrt_activation")
    out = capsys.readouterr().out
    assert namespace["GRAD_HOOK_NAME"] == "blocks.6.hook_mlp_out"
    assert namespace["target_token_id"] == 6342
    activation = namespace["stored_activation_for_grad"]
    assert activation.shape == (1, namespace["input_ids"].shape[1], 64)
    # Only positions up to TARGET_POS can influence it; with TARGET_POS = -1 that is all of them.
    assert namespace["grad_tensor"][0, -1].abs().sum() > 0
    assert "Gradient tensor computed." in out
