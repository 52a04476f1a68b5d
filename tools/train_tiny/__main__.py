"""``python -m tools.train_tiny``: rebuild the embedded tokenizer and models (``--report`` measures them)."""

from tools.train_tiny.train import main

main()
