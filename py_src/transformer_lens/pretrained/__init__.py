"""Tiny models trained by this project and shipped in the package (see ``docs/model-card.md``).

``embedded/`` holds the files that ``transformer_lens.loading.embedded`` loads. The code that
trains them lives outside the runtime package, in ``tools/train_tiny/`` (``python -m tools.train_tiny``).
"""
