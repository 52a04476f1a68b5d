"""User guide, "Loading Models / Load a Model with Configuration Overrides": the guide's block, verbatim."""

from __future__ import annotations

from guide_runner import assert_no_error_printed, run_guide_block

# Copied from the guide; keep it byte for byte as the guide has it.
GUIDE_BLOCK = r'''
import torch
import transformer_lens

# --- Configuration ---
MODEL_NAME = "gpt2-small"
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"

# --- Configuration Overrides ---
# Override a key that exists in the underlying Hugging Face config.
# Default for gpt2 is 'gelu_new'. We override it to 'relu'.
CFG_OVERRIDES = {
    "activation_function": "relu",
}

print(f"Attempting to load model: {MODEL_NAME} with overrides: {CFG_OVERRIDES}")

try:
    # Pass the overrides as keyword arguments using **
    model = transformer_lens.HookedTransformer.from_pretrained(
        MODEL_NAME,
        device=DEVICE,
        **CFG_OVERRIDES 
    )
    
    print(f"Successfully loaded model: {MODEL_NAME} with overrides.")
    
    # Verify the override was applied 
    # (HF 'activation_function' maps to TL 'act_fn')
    expected_act_fn = CFG_OVERRIDES["activation_function"]
    assert model.cfg.act_fn == expected_act_fn
    print(f"Config override verified: act_fn is now {model.cfg.act_fn}")

except Exception as e:
    print(f"Error loading model {MODEL_NAME} with overrides: {e}")
'''


def test_load_model_override(capsys):
    namespace = run_guide_block(GUIDE_BLOCK, "test_load_model_override")
    out = capsys.readouterr().out
    assert_no_error_printed(out)
    model = namespace["model"]
    assert model.cfg.act_fn == "relu"
    assert model.cfg.model_name == "gpt2"
    assert "Config override verified: act_fn is now relu" in out
