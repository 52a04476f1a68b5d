"""One module per model family: HF config mapping and weight conversion, no forward code."""
