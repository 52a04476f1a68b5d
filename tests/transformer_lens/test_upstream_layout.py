"""Upstream TransformerLens's module paths resolve to LensLab's own objects (the same objects, not copies)."""

from __future__ import annotations

import importlib

import pytest
import torch

import transformer_lens
from transformer_lens import activation_cache, hook_points, hooked_transformer, loss
from transformer_lens.components import mlp as our_mlp


@pytest.fixture(scope="module")
def attn_only():
    return transformer_lens.HookedTransformer.from_pretrained("lenslab/attn-only-2l", device="cpu")


# ---- what sae-lens 6.x imports -------------------------------------------------------------

SAE_LENS_IMPORTS = [
    ("transformer_lens.HookedTransformer", "HookedTransformer", hooked_transformer.HookedTransformer),
    ("transformer_lens.HookedTransformer", "HookedRootModule", hook_points.HookedRootModule),
    ("transformer_lens.HookedTransformer", "Loss", loss.Loss),
    ("transformer_lens.HookedTransformer", "Output", loss.Output),
    ("transformer_lens.ActivationCache", "ActivationCache", activation_cache.ActivationCache),
    ("transformer_lens.hook_points", "HookPoint", hook_points.HookPoint),
    ("transformer_lens.utils", "lm_cross_entropy_loss", loss.lm_cross_entropy_loss),
    ("transformer_lens.components.mlps.can_be_used_as_mlp", "CanBeUsedAsMLP", our_mlp.CanBeUsedAsMLP),
]


@pytest.mark.parametrize("module_name, name, ours", SAE_LENS_IMPORTS, ids=lambda v: v if isinstance(v, str) else "")
def test_sae_lens_imports_give_our_objects(module_name, name, ours):
    assert getattr(importlib.import_module(module_name), name) is ours


def test_class_named_modules_keep_the_package_attribute_a_class():
    # As upstream: the package attribute is the class, the dotted module path is the module.
    import transformer_lens.ActivationCache
    import transformer_lens.HookedTransformer  # noqa: F401  (must not rebind the attribute)

    assert transformer_lens.HookedTransformer is hooked_transformer.HookedTransformer
    assert transformer_lens.ActivationCache is activation_cache.ActivationCache
    module = importlib.import_module("transformer_lens.HookedTransformer")
    assert module.__name__ == "transformer_lens.HookedTransformer"
    assert module.HookedTransformer is transformer_lens.HookedTransformer


def test_our_mlp_is_a_can_be_used_as_mlp(attn_only):
    from transformer_lens.components.mlps.can_be_used_as_mlp import CanBeUsedAsMLP

    cfg = dict(attn_only.cfg.to_dict(), attn_only=False, d_mlp=12, act_fn="gelu")
    layer = our_mlp.MLP(cfg)
    assert isinstance(layer, CanBeUsedAsMLP)
    assert layer.d_mlp == 12 and layer.cfg.d_model == attn_only.cfg.d_model


def test_output_is_the_pair_forward_returns(attn_only):
    from transformer_lens.HookedTransformer import Output

    tokens = attn_only.to_tokens("def f(x): return x")
    logits, loss_value = attn_only(tokens, return_type="both")
    out = Output(logits, loss_value)
    assert out.logits is logits and out.loss is loss_value
    torch.testing.assert_close(out.loss, loss.lm_cross_entropy_loss(logits, tokens))


# ---- utils: USE_DEFAULT_VALUE and BOS handling ----------------------------------------------


def test_use_default_value_means_the_models_setting(attn_only):
    from transformer_lens.utils import USE_DEFAULT_VALUE, LocallyOverridenDefaults

    assert USE_DEFAULT_VALUE is None
    before = (attn_only.cfg.default_prepend_bos, attn_only.tokenizer.padding_side)
    with LocallyOverridenDefaults(attn_only, prepend_bos=not before[0], padding_side="left"):
        assert attn_only.cfg.default_prepend_bos is (not before[0])
        assert attn_only.tokenizer.padding_side == "left"
    assert (attn_only.cfg.default_prepend_bos, attn_only.tokenizer.padding_side) == before
    with LocallyOverridenDefaults(attn_only, prepend_bos=USE_DEFAULT_VALUE):
        assert attn_only.cfg.default_prepend_bos is before[0]
    with pytest.raises(AssertionError, match="not a valid parameter"):
        LocallyOverridenDefaults(attn_only, temperature=1.0)


@pytest.mark.parametrize("padding_side", ["left", "right"])
def test_get_tokens_with_bos_removed_equals_tokenizing_without_bos(attn_only, padding_side):
    from transformer_lens.utils import get_tokens_with_bos_removed

    prompts = ["a longer prompt here", "short"]
    with_bos = attn_only.to_tokens(prompts, prepend_bos=True, padding_side=padding_side)
    without_bos = attn_only.to_tokens(prompts, prepend_bos=False, padding_side=padding_side)
    assert torch.equal(get_tokens_with_bos_removed(attn_only.tokenizer, with_bos, padding_side), without_bos)


def test_get_tokens_with_bos_removed_when_bos_is_the_pad_token():
    from types import SimpleNamespace

    from transformer_lens.utils import get_tokens_with_bos_removed

    # BOS == pad == 0, left padded: the BOS is the last 0 of each row's leading run.
    tokenizer = SimpleNamespace(bos_token_id=0, pad_token_id=0, padding_side="left")
    tokens = torch.tensor([[0, 0, 0, 5, 0], [0, 7, 8, 9, 6]])
    assert get_tokens_with_bos_removed(tokenizer, tokens).tolist() == [[0, 0, 5, 0], [7, 8, 9, 6]]
    no_bos = SimpleNamespace(bos_token_id=None, pad_token_id=0, padding_side="right")
    assert get_tokens_with_bos_removed(no_bos, tokens) is tokens
