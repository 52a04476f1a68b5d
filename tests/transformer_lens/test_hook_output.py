"""What a forward hook or a patch setter may return: a tensor of the activation's shape and dtype
(or None). Anything else is one clear error naming the hook, with no hook left attached;
``check_output=False`` is the opt-out for hooks that change shapes on purpose."""

from __future__ import annotations

import pytest
import torch

from transformer_lens import HookedTransformer, HookedTransformerConfig, patching
from transformer_lens.hook_points import HookOutputError

RESID = "blocks.0.hook_resid_pre"


@pytest.fixture(scope="module")
def model():
    cfg = dict(n_layers=2, d_model=16, n_ctx=12, d_head=4, n_heads=4, d_vocab=30, act_fn="gelu", seed=1, device="cpu")
    return HookedTransformer(HookedTransformerConfig(**cfg))


@pytest.fixture(scope="module")
def tokens():
    return torch.randint(0, 30, (1, 5), generator=torch.Generator().manual_seed(0))


def no_hooks_left(model) -> bool:
    return all(not hp.fwd_hooks and not hp.bwd_hooks for hp in model.hook_points())


@pytest.mark.parametrize(
    "hook, expected",
    [
        (lambda x, hook: x[:, :2], f"Hook '{RESID}' returned shape (1, 2, 16); expected (1, 5, 16)"),
        (lambda x, hook: x.double(), f"Hook '{RESID}' returned dtype torch.float64; expected torch.float32"),
        (lambda x, hook: x.tolist(), f"Hook '{RESID}' returned a list; expected a tensor of shape (1, 5, 16)"),
        (lambda x, hook: 0.0, f"Hook '{RESID}' returned a float; expected a tensor"),
    ],
    ids=["shape", "dtype", "list", "float"],
)
def test_a_hook_returning_a_misfit_raises_one_line_naming_the_hook(model, tokens, hook, expected):
    def global_hook_then_forward():
        model.add_hook(RESID, hook)
        model(tokens)

    for run in (lambda: model.run_with_hooks(tokens, fwd_hooks=[(RESID, hook)]), global_hook_then_forward):
        with pytest.raises(HookOutputError) as info:
            run()
        message = str(info.value)
        assert message.startswith(expected) and "\n" not in message and "check_output=False" in message
        model.reset_hooks()  # the global hook stays until removed, as documented
        assert no_hooks_left(model)


def test_in_place_edits_none_and_same_shape_replacements_pass(model, tokens):
    reference = model(tokens)
    for hook in (lambda x, hook: None, lambda x, hook: x.mul_(1.0), lambda x, hook: x.clone()):
        assert torch.equal(model.run_with_hooks(tokens, fwd_hooks=[(RESID, hook)]), reference)


def test_check_output_false_lets_a_hook_change_the_shape_on_purpose(model, tokens):
    keep_two = lambda x, hook: x[:, :2]  # noqa: E731
    # Oracle: the model run on the first two tokens (the residual stream starts as embeddings).
    expected = model(tokens[:, :2])
    torch.testing.assert_close(model.run_with_hooks(tokens, fwd_hooks=[(RESID, keep_two)], check_output=False), expected)
    with model.hooks(fwd_hooks=[(RESID, keep_two)], check_output=False):
        torch.testing.assert_close(model(tokens), expected)
    model.add_hook(RESID, keep_two, check_output=False)
    try:
        torch.testing.assert_close(model(tokens), expected)
    finally:
        model.reset_hooks()
    assert no_hooks_left(model)


@pytest.mark.parametrize("mode", ["batched", "sequential", "approx"])
def test_a_patch_setter_returning_the_wrong_shape_raises(model, tokens, mode):
    _, cache = model.run_with_cache(tokens.flip(1))

    def first_position_only(act, index, clean):
        return act[:, :1]

    metric = lambda logits: logits[:, -1, 0].mean()  # noqa: E731
    with pytest.raises(ValueError, match=r"patch_setter for 'blocks\.\d\.hook_resid_pre' at index \[\d+\] returned shape \(1, 1, 16\)"):
        patching.generic_activation_patch(
            model, tokens, cache, metric, first_position_only, "resid_pre", ["layer"], progress=False,
            sequential=mode == "sequential", approx=mode == "approx",
        )
    assert no_hooks_left(model)
