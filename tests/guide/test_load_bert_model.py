"""User guide, "Loading Models / Load a BERT-Style Model (using HookedEncoder)": the guide's block, verbatim."""

from __future__ import annotations

from guide_runner import assert_no_error_printed, run_guide_block

# Copied from the guide; keep it byte for byte as the guide has it.
GUIDE_BLOCK = r'''
import torch
import transformer_lens
from transformer_lens import HookedEncoder # Important!

# --- Configuration ---
MODEL_NAME = "bert-base-uncased"
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"

print(f"Attempting to load BERT model: {MODEL_NAME} using HookedEncoder...")

try:
    # Use HookedEncoder.from_pretrained for BERT
    model = HookedEncoder.from_pretrained(
        MODEL_NAME,
        device=DEVICE
    )
    
    print(f"Successfully loaded model: {MODEL_NAME} using HookedEncoder.")
    
    # --- Verification ---
    assert isinstance(model, HookedEncoder)
    # Verify specific architecture loaded (often BertForMaskedLM)
    assert model.cfg.original_architecture == "BertForMaskedLM"
    assert hasattr(model, 'blocks') and len(model.blocks) > 0
    assert next(model.parameters()).device.type == DEVICE
    print(f"Verification successful. Loaded {model.cfg.original_architecture}")

except Exception as e:
    print(f"Error loading BERT model {MODEL_NAME} with HookedEncoder: {e}")
'''


def test_load_bert_model(capsys, bert_hub):
    # bert_hub puts a small random `bert-base-uncased` (BERT's real uncased tokenizer) in the HF cache.
    namespace = run_guide_block(GUIDE_BLOCK, "test_load_bert_model")
    out = capsys.readouterr().out
    assert_no_error_printed(out)
    from transformer_lens import HookedEncoder

    model = namespace["model"]
    assert isinstance(model, HookedEncoder)
    assert model.cfg.original_architecture == "BertForMaskedLM"
    assert "Verification successful. Loaded BertForMaskedLM" in out
