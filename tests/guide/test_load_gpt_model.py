"""User guide, "Loading Models / Load a Standard GPT-Style Model": the guide's block, verbatim."""

from __future__ import annotations

from guide_runner import assert_no_error_printed, run_guide_block

# Copied from the guide; keep it byte for byte as the guide has it.
GUIDE_BLOCK = r'''
import torch
import transformer_lens

# --- Configuration ---
MODEL_NAME = "gpt2-small" # Or other HF model name
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"

print(f"Attempting to load model: {MODEL_NAME} onto device: {DEVICE}")

try:
    # Load the model using TransformerLens' from_pretrained method
    model = transformer_lens.HookedTransformer.from_pretrained(
        MODEL_NAME,
        device=DEVICE
    )
    
    print(f"Successfully loaded model: {MODEL_NAME}")
    print(f"Model is on device: {next(model.parameters()).device}")
    print(f"Model has {len(model.blocks)} blocks.")
    # Basic check of config
    assert model.cfg.d_model > 0
    print(f"Model config loaded (model name: {model.cfg.model_name})")

except Exception as e:
    print(f"Error loading model {MODEL_NAME}: {e}")
'''


def test_load_gpt_model(capsys):
    namespace = run_guide_block(GUIDE_BLOCK, "test_load_gpt_model")
    out = capsys.readouterr().out
    assert_no_error_printed(out)
    import transformer_lens

    model = namespace["model"]
    assert isinstance(model, transformer_lens.HookedTransformer)
    # "gpt2-small" is TransformerLens' alias for the hub's gpt2.
    assert model.cfg.model_name == "gpt2"
    assert len(model.blocks) == model.cfg.n_layers == 8  # the test suite's random gpt2
    assert next(model.parameters()).device.type == namespace["DEVICE"]
    assert "Successfully loaded model: gpt2-small" in out
    assert "Model config loaded (model name: gpt2)" in out
