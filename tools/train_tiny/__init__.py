"""Training of the tiny models shipped in ``transformer_lens/pretrained/embedded/`` (see ``docs/model-card.md``).

``corpus`` lists the training text (the stdlib's own sources), ``bpe`` trains the tokenizer and
``train`` trains the models. Only the weights ship; this training code stays out of the runtime
package. Run ``python -m tools.train_tiny --help`` from the repository root.
"""
