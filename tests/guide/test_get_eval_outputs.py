"""User guide, "Model Evaluation / Obtain Logits and Loss for Evaluation": the guide's block, verbatim."""

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
PROMPT = "Evaluating model outputs requires logits or loss."

# Load model
model = transformer_lens.HookedTransformer.from_pretrained(MODEL_NAME, device=DEVICE)
model.eval()
input_ids = model.to_tokens(PROMPT)

with torch.no_grad():
    # --- Get Logits ---
    logits = model(input_ids, return_type="logits")
    print(f"Logits obtained. Shape: {logits.shape}")
    assert logits.shape == (input_ids.shape[0], input_ids.shape[1], model.cfg.d_vocab)

    # --- Get Loss (Internal Calculation) ---
    # Calculates standard next-token prediction loss
    loss = model(input_ids, return_type="loss")
    print(f"Loss obtained: {loss.item():.4f}")
    assert loss.ndim == 0 # Loss should be a scalar

# --- Using Outputs for Evaluation (Example) ---
# 1. Get probabilities from logits
probs = torch.softmax(logits, dim=-1)
# 2. Get top predicted token index for the last position
top_pred_idx = probs[:, -1, :].argmax(dim=-1)
# 3. Decode the predicted token
top_pred_token = model.to_string(top_pred_idx)
print(f"Predicted next token (greedy): '{top_pred_token}'")

# 4. Use the loss directly (e.g., for perplexity calculation)
perplexity = torch.exp(loss)
print(f"Perplexity (based on internal loss): {perplexity.item():.4f}")

# Further evaluation would involve comparing predictions/loss against ground truth labels
# Consider using libraries like Hugging Face's `evaluate` for standard metrics.
'''


def test_get_eval_outputs(capsys):
    namespace = run_guide_block(GUIDE_BLOCK, "test_get_eval_outputs")
    out = capsys.readouterr().out
    model, input_ids, logits, loss = (namespace[k] for k in ("model", "input_ids", "logits", "loss"))
    expected = torch.nn.functional.cross_entropy(logits[0, :-1], input_ids[0, 1:])
    torch.testing.assert_close(loss, expected)
    assert torch.isfinite(namespace["perplexity"])
    assert isinstance(namespace["top_pred_token"], str)
    assert "Predicted next token (greedy):" in out
