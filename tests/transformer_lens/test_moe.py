"""The mixture-of-experts MLP against a dense reference, weight processing on MoE models, config checks."""

from __future__ import annotations

import pytest
import torch

from transformer_lens import HookedTransformer, HookedTransformerConfig


def _config(**overrides) -> HookedTransformerConfig:
    kwargs = dict(
        n_layers=2, d_model=16, d_head=4, n_ctx=16, d_vocab=23, act_fn="silu", d_mlp=12, gated_mlp=True,
        num_experts=5, experts_per_token=2, normalization_type="RMS", positional_embedding_type="rotary", seed=3, device="cpu",
    )
    kwargs.update(overrides)
    return HookedTransformerConfig(**kwargs)


def _randomise_norms(model: HookedTransformer) -> None:
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith((".w", ".b")):
                param.add_(0.3 * torch.randn(param.shape, generator=generator))


TOKENS = torch.randint(0, 23, (2, 7), generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("style", ["mixtral", "gpt_oss"])
def test_moe_equals_a_dense_per_token_reference(style):
    model = HookedTransformer(_config(moe_style=style, norm_topk_prob=True))
    moe = model.blocks[0].mlp
    x = torch.randn(2, 7, 16, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ours = moe(x)
        logits = x @ moe.W_gate + (moe.b_gate if style == "gpt_oss" else 0)
        expected = torch.zeros_like(x)
        for b in range(2):
            for p in range(7):
                top = logits[b, p].topk(2)
                # gpt-oss's softmax over the top-k logits; for Mixtral the renormalised top-k of the
                # softmax over all experts, which is the same number.
                weights = top.values.softmax(-1)
                for weight, expert in zip(weights, top.indices):
                    expected[b, p] += weight * moe.experts[int(expert)](x[b, p][None])[0]
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-5)


def test_without_renormalisation_weights_are_the_softmax_over_all_experts():
    model = HookedTransformer(_config(norm_topk_prob=False))
    with torch.no_grad():
        _, cache = model.run_with_cache(TOKENS)
    probs = cache["blocks.0.mlp.hook_router_logits"].softmax(-1)
    torch.testing.assert_close(cache["blocks.0.mlp.hook_expert_weights"], probs.topk(2).values)


@pytest.mark.parametrize("normalization_type", ["RMS", "LN"])
def test_weight_processing_keeps_log_probs(normalization_type):
    model = HookedTransformer(_config(normalization_type=normalization_type, norm_topk_prob=True))
    _randomise_norms(model)
    with torch.no_grad():
        before = model(TOKENS).log_softmax(-1)
        model.process_weights_()
        after = model(TOKENS).log_softmax(-1)
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-5)
    # RMSNorm folds into the router and every expert; LayerNorm biases have nowhere to go, so it stays.
    assert model.cfg.normalization_type == ("RMSPre" if normalization_type == "RMS" else "LN")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(experts_per_token=None), "set together"),
        (dict(experts_per_token=6), r"experts_per_token must lie in \[1, num_experts=5\]"),
        (dict(moe_style="switch"), "moe_style must be one of"),
    ],
)
def test_bad_expert_configs_fail_in_one_line(overrides, message):
    with pytest.raises(ValueError, match=message) as error:
        _config(**overrides)
    assert "\n" not in str(error.value)


def test_moe_takes_a_config_dict_as_upstreams_components_do():
    from transformer_lens.components import MoE

    cfg = _config()
    fields = dict(d_model=16, d_mlp=12, d_head=4, n_layers=2, n_ctx=16, num_experts=5, experts_per_token=2, gated_mlp=True, act_fn="silu")
    from_dict, from_cfg = MoE(fields), MoE(cfg)
    generator = torch.Generator().manual_seed(4)
    with torch.no_grad():  # a bare component's weights are uninitialised
        for param in from_cfg.parameters():
            param.copy_(torch.randn(param.shape, generator=generator))
    from_dict.load_state_dict(from_cfg.state_dict())
    x = torch.randn(1, 3, 16, generator=torch.Generator().manual_seed(0))
    assert from_dict.cfg.num_experts == 5 and torch.equal(from_dict(x), from_cfg(x))


def test_upstreams_linear_layout_gpt_oss_moe_computes_what_our_moe_does():
    from transformer_lens.components import GptOssMoE

    cfg = _config(moe_style="gpt_oss")
    ours = HookedTransformer(cfg).blocks[0].mlp
    generator = torch.Generator().manual_seed(6)
    with torch.no_grad():
        for param in ours.parameters():
            param.copy_(torch.randn(param.shape, generator=generator))
    linear = GptOssMoE(cfg)
    with torch.no_grad():  # the same weights, as nn.Linear's [out, in]
        linear.W_gate.weight.copy_(ours.W_gate.T)
        linear.W_gate.bias.copy_(ours.b_gate)
        for mine, theirs in zip(ours.experts, linear.experts):
            for name in ("gate", "in", "out"):
                getattr(theirs, f"W_{name}").weight.copy_(getattr(mine, f"W_{name}").T)
                getattr(theirs, f"W_{name}").bias.copy_(getattr(mine, f"b_{name}"))
    x = 3 * torch.randn(2, 5, 16, generator=generator)  # large enough that the clamps at 7 act
    torch.testing.assert_close(linear(x), ours(x), atol=1e-4, rtol=1e-4)  # float32 sums in another order
