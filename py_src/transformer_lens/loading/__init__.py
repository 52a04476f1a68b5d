"""Loading checkpoints into hooked models."""
