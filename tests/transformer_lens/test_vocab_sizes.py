"""d_vocab and d_vocab_out: what the tokenizer fills in, and what the user set stays."""

import torch

from transformer_lens import HookedTransformer, HookedTransformerConfig

SMALL = dict(n_layers=1, d_model=16, n_ctx=8, d_head=4, n_heads=4, act_fn="relu", d_mlp=32, seed=0)


def test_the_tokenizer_fills_both_vocab_sizes(gpt2_tokenizer):
    model = HookedTransformer(HookedTransformerConfig(**SMALL), tokenizer=gpt2_tokenizer)
    assert model.cfg.d_vocab == model.cfg.d_vocab_out == len(gpt2_tokenizer)
    assert model.W_U.shape == (16, len(gpt2_tokenizer))


def test_a_user_set_output_vocabulary_is_kept(gpt2_tokenizer):
    model = HookedTransformer(HookedTransformerConfig(**SMALL, d_vocab_out=90), tokenizer=gpt2_tokenizer)
    assert model.cfg.d_vocab == len(gpt2_tokenizer) and model.cfg.d_vocab_out == 90
    assert model.W_E.shape == (len(gpt2_tokenizer), 16) and model.W_U.shape == (16, 90)
    assert model(torch.tensor([[1, 50000, 7]])).shape == (1, 3, 90)


def test_explicit_sizes_survive_a_tokenizer(gpt2_tokenizer):
    model = HookedTransformer(HookedTransformerConfig(**SMALL, d_vocab=100, d_vocab_out=90), tokenizer=gpt2_tokenizer)
    assert (model.cfg.d_vocab, model.cfg.d_vocab_out) == (100, 90)
