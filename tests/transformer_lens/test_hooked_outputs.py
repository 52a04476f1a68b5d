"""Hooks that only read (caching, no-op hooks) leave the outputs bit for bit unchanged; hooks that
edit the attention scores or pattern take effect through the explicit ``pattern @ v`` path."""

import pytest
import torch

from transformer_lens import HookedTransformer, HookedTransformerConfig

BASE = dict(n_layers=2, d_model=32, n_ctx=16, d_head=8, n_heads=4, d_vocab=50, act_fn="gelu", d_mlp=64, seed=0)
VARIANTS = {
    "LN": {"normalization_type": "LN"},
    "RMS": {"normalization_type": "RMS"},
    "no-norm": {"normalization_type": None},
    "gqa-rotary": {"normalization_type": "RMS", "n_key_value_heads": 2, "positional_embedding_type": "rotary"},
    "local": {"normalization_type": "LN", "attn_types": ["global", "local"], "window_size": 3, "use_local_attn": True},
}
TOKENS = torch.randint(0, 50, (3, 10), generator=torch.Generator().manual_seed(5))
LEFT_PADDED = torch.ones(3, 10, dtype=torch.long).index_fill_(1, torch.arange(4), 0)


@pytest.fixture(scope="module", params=list(VARIANTS))
def model(request):
    return HookedTransformer(HookedTransformerConfig(**BASE, **VARIANTS[request.param]))


@pytest.mark.parametrize("mask", [None, LEFT_PADDED], ids=["unmasked", "left-padded"])
def test_reading_hooks_give_bit_equal_logits(model, mask):
    plain = model(TOKENS, attention_mask=mask)
    cached, cache = model.run_with_cache(TOKENS, attention_mask=mask)
    every_hook = model.run_with_hooks(TOKENS, attention_mask=mask, fwd_hooks=[(lambda name: True, lambda t, hook: None)])
    assert torch.equal(cached, plain) and torch.equal(every_hook, plain)
    assert "blocks.1.attn.hook_pattern" in cache


def test_an_edited_pattern_takes_effect(model):
    """Uniform attention over the visible keys: z is then the running mean of the values."""

    def uniform(pattern, hook):
        causal = torch.ones_like(pattern).tril()
        return causal / causal.sum(-1, keepdim=True)

    with model.hooks(fwd_hooks=[("blocks.0.attn.hook_pattern", uniform)]):
        _, cache = model.run_with_cache(TOKENS, names_filter=lambda name: name.startswith("blocks.0.attn.hook_"))
    v = cache["blocks.0.attn.hook_v"].repeat_interleave(model.cfg.n_heads // cache["blocks.0.attn.hook_v"].shape[2], 2)
    running_mean = v.cumsum(1) / torch.arange(1, TOKENS.shape[1] + 1)[None, :, None, None]
    # Local attention too: the hook replaced the whole pattern, window included.
    torch.testing.assert_close(cache["blocks.0.attn.hook_z"], running_mean, atol=1e-5, rtol=1e-5)


def test_an_in_place_edit_of_the_scores_takes_effect(model):
    plain = model(TOKENS)

    def mask_all_but_self(scores, hook):
        eye = torch.eye(scores.shape[-1], dtype=torch.bool)
        scores.masked_fill_(~eye, float("-inf"))

    with model.hooks(fwd_hooks=[("blocks.0.attn.hook_attn_scores", mask_all_but_self)]):
        _, cache = model.run_with_cache(TOKENS, names_filter=lambda name: name.startswith("blocks.0.attn.hook_"))
    v = cache["blocks.0.attn.hook_v"].repeat_interleave(model.cfg.n_heads // cache["blocks.0.attn.hook_v"].shape[2], 2)
    torch.testing.assert_close(cache["blocks.0.attn.hook_z"], v)
    assert torch.equal(model(TOKENS), plain)  # the hook is gone, and so is its effect


def test_gradients_reach_activations_that_hooks_only_read(model):
    """Attribution patching differentiates through cached patterns and normalized values."""
    names = ("blocks.0.attn.hook_pattern", "blocks.1.ln1.hook_normalized")
    names = tuple(name for name in names if name in model.hook_dict)
    seen = {}
    with model.hooks(fwd_hooks=[(name, lambda t, hook: seen.__setitem__(hook.name, t)) for name in names]):
        loss = model(TOKENS, return_type="loss")
    through_fwd_hooks = torch.autograd.grad(loss, [seen[name] for name in names])

    grads = {}
    bwd = [(name, lambda g, hook: grads.__setitem__(hook.name, g)) for name in names]
    with model.hooks(bwd_hooks=bwd):
        model(TOKENS, return_type="loss").backward()
    model.zero_grad(set_to_none=True)
    for name, grad in zip(names, through_fwd_hooks):
        assert grad.abs().max() > 0
        torch.testing.assert_close(grad, grads[name], atol=1e-6, rtol=1e-4)
