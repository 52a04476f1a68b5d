"""LayerNorm/RMSNorm (learned and "Pre"): outputs against torch's own norms, and what
``hook_scale`` / ``hook_normalized`` hold (upstream 3.x: normalized before ``w`` and ``b``)."""

import pytest
import torch
import torch.nn.functional as F

from transformer_lens import HookedTransformer, HookedTransformerConfig
from transformer_lens.components.norms import NORM_CLASSES

D = 16
EPS = 1e-5


def norm_of(kind: str):
    cfg = HookedTransformerConfig(n_layers=1, d_model=D, n_ctx=8, d_head=4, n_heads=4, d_vocab=10, act_fn="relu",
                                  normalization_type=kind, eps=EPS)
    norm = NORM_CLASSES[kind](cfg)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for param in norm.parameters():
            param.copy_(torch.randn(param.shape, generator=generator))
    norm.hook_scale.name, norm.hook_normalized.name = "hook_scale", "hook_normalized"
    return norm


def torch_oracle(norm, x: torch.Tensor, affine: bool) -> torch.Tensor:
    w = norm.w if affine and norm.learned else None
    if norm.centered:
        return F.layer_norm(x, (D,), w, norm.b if affine and norm.learned else None, EPS)
    return F.rms_norm(x, (D,), w, EPS)


@pytest.fixture
def x():
    return torch.randn(2, 5, D, generator=torch.Generator().manual_seed(1)) * 3 + 1


@pytest.mark.parametrize("kind", list(NORM_CLASSES))
def test_output_and_hooks_match_torchs_norms(kind, x):
    norm = norm_of(kind)
    seen = {}
    for hook in (norm.hook_scale, norm.hook_normalized):
        hook.add_hook(lambda t, hook: seen.setdefault(hook.name, t.detach().clone()))
    with torch.no_grad():
        out = norm(x)
    centered = x - x.mean(-1, keepdim=True) if norm.centered else x
    torch.testing.assert_close(out, torch_oracle(norm, x, affine=True))
    torch.testing.assert_close(seen["hook_scale"], (centered.pow(2).mean(-1, keepdim=True) + EPS).sqrt())
    torch.testing.assert_close(seen["hook_normalized"], torch_oracle(norm, x, affine=False))
    torch.testing.assert_close(seen["hook_normalized"], centered / seen["hook_scale"])


@pytest.mark.parametrize("kind", list(NORM_CLASSES))
def test_an_edited_normalized_value_goes_through_the_weights(kind, x):
    norm = norm_of(kind)
    norm.hook_normalized.add_hook(lambda t, hook: torch.ones_like(t))
    with torch.no_grad():
        out = norm(x)
    expected = torch.ones_like(x)
    if norm.learned:
        expected = expected * norm.w + (norm.b if norm.centered else 0)
    torch.testing.assert_close(out, expected.detach())


@pytest.mark.parametrize("kind", list(NORM_CLASSES))
def test_read_only_hooks_leave_the_output_bit_for_bit(kind, x):
    norm = norm_of(kind)
    with torch.no_grad():
        plain = norm(x)
        norm.hook_normalized.add_hook(lambda t, hook: None)
        norm.hook_scale.add_hook(lambda t, hook: None)
        assert torch.equal(norm(x), plain)


def test_model_hook_normalized_is_the_same_before_and_after_folding_the_weights():
    cfg = dict(n_layers=2, d_model=32, n_ctx=16, d_head=8, n_heads=4, d_vocab=50, act_fn="gelu", d_mlp=64, seed=3)
    model = HookedTransformer(HookedTransformerConfig(**cfg, normalization_type="LN"))
    with torch.no_grad():  # learned weights far from the identity, so w and b would show
        for name, param in model.named_parameters():
            if name.endswith((".w", ".b")) and ".ln" in name:
                param.copy_(torch.randn(param.shape, generator=torch.Generator().manual_seed(len(name))))
    tokens = torch.randint(0, 50, (2, 9), generator=torch.Generator().manual_seed(4))
    _, raw = model.run_with_cache(tokens)
    resid = raw["blocks.1.hook_resid_pre"]
    centered = resid - resid.mean(-1, keepdim=True)
    torch.testing.assert_close(raw["blocks.1.ln1.hook_normalized"], centered / raw["blocks.1.ln1.hook_scale"])

    model.process_weights_(fold_ln=True, center_writing_weights=False, center_unembed=False, fold_value_biases=False)
    assert model.cfg.normalization_type == "LNPre"
    _, folded = model.run_with_cache(tokens)
    for name in ("blocks.0.ln1.hook_normalized", "blocks.1.ln2.hook_normalized", "ln_final.hook_normalized"):
        torch.testing.assert_close(folded[name], raw[name], atol=1e-5, rtol=1e-5)
