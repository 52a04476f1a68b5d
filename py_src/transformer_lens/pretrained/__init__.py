"""Tiny models trained by this project and shipped in the package (see ``docs/model-card.md``).

``corpus`` lists the training text (the stdlib's own sources), ``bpe`` trains the
tokenizer and ``train_tiny`` trains the models; ``embedded/`` holds the files that
``transformer_lens.loading.embedded`` loads.
"""
