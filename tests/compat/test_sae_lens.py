"""sae-lens, unmodified, on LensLab: HookedSAETransformer, SAE splicing and error terms, training, sidebar.

sae-lens comes with the ``sae`` extra (``pip install -e ".[sae]"``, which installs LensLab's
``transformer-lens`` stand-in instead of upstream's package). Without it these tests skip, unless
LENSLAB_REQUIRE_SAE=1 (.ci/run sets it), in which case a missing sae-lens fails them.

Oracles: the SAE spliced in by sae-lens must give what a plain hook that replaces the
activation with the SAE's reconstruction gives on LensLab's own HookedTransformer (to float32 rounding).
"""

from __future__ import annotations

import os

import pytest

if os.environ.get("LENSLAB_REQUIRE_SAE") == "1":
    import sae_lens  # noqa: F401 - CI requires it: an ImportError here fails the module
else:
    pytest.importorskip("sae_lens", reason='sae-lens is not installed (pip install -e ".[sae]")')

import torch  # noqa: E402
from sae_lens import HookedSAETransformer, StandardSAE, StandardSAEConfig  # noqa: E402
from sae_lens.saes.sae import SAEMetadata  # noqa: E402

MODEL = "lenslab/gelu-2l"
HOOK = "blocks.0.hook_mlp_out"
SAE_HOOKS = ["hook_sae_input", "hook_sae_acts_pre", "hook_sae_acts_post", "hook_sae_recons", "hook_sae_output"]
PROMPTS = ["The cat sat on the mat because it was tired.", "When Mary and John went to the store, John gave"]
ATOL = 1e-4  # fp32: the spliced and the hooked paths differ only by summation order (rtol 1e-5 with it)


@pytest.fixture(scope="module")
def model():
    return HookedSAETransformer.from_pretrained(MODEL)


@pytest.fixture(scope="module")
def plain():
    from transformer_lens import HookedTransformer

    return HookedTransformer.from_pretrained(MODEL)


def random_sae(d_in: int, hook: str = HOOK, d_sae: int = 96, seed: int = 0) -> StandardSAE:
    torch.manual_seed(seed)
    sae = StandardSAE(StandardSAEConfig(d_in=d_in, d_sae=d_sae, dtype="float32", device="cpu", metadata=SAEMetadata(hook_name=hook, model_name=MODEL)))
    with torch.no_grad():
        for param in sae.parameters():
            param.normal_(0.0, 0.2)
    return sae.eval()


@pytest.fixture(scope="module")
def sae(model):
    return random_sae(model.cfg.d_model)


@pytest.fixture(scope="module")
def tokens(model):
    return model.to_tokens(PROMPTS)


@pytest.fixture(scope="module")
def clean(model, tokens):
    """Logits and the hooked activation with no SAE attached."""
    with torch.no_grad():
        logits, cache = model.run_with_cache(tokens, names_filter=HOOK)
    return logits, cache[HOOK]


def with_replaced_activation(plain, tokens, replace):
    """The oracle: LensLab's own HookedTransformer with HOOK's activation replaced by replace(x)."""
    with torch.no_grad():
        return plain.run_with_hooks(tokens, fwd_hooks=[(HOOK, lambda act, hook: replace(act))])


def assert_no_sae_left(model, tokens, clean_logits):
    assert not any("hook_sae" in name for name in model.hook_dict), "an SAE hook stayed in hook_dict"
    assert type(model.mod_dict[HOOK]).__name__ == "HookPoint"
    with torch.no_grad():
        assert torch.equal(model(tokens), clean_logits)


def test_from_pretrained_is_lenslabs_model_with_sae_lens_extras(model, plain, tokens, clean):
    assert isinstance(model, HookedSAETransformer) and model.cfg.d_model == plain.cfg.d_model
    with torch.no_grad():
        torch.testing.assert_close(clean[0], plain(tokens), rtol=1e-5, atol=1e-5)
    # sae-lens adds blocks.{l}.mlp.hook_in by swapping MLP.forward; setup() must have found it, and it fires
    # with the MLP's input (what blocks.{l}.hook_mlp_out's module receives).
    assert "blocks.1.mlp.hook_in" in model.hook_dict
    seen = {}
    with torch.no_grad():
        model.run_with_hooks(tokens, fwd_hooks=[("blocks.1.mlp.hook_in", lambda x, hook: seen.setdefault("in", x))])
        mlp_out = model.blocks[1].mlp(seen["in"])
        _, cache = model.run_with_cache(tokens, names_filter="blocks.1.hook_mlp_out")
    torch.testing.assert_close(mlp_out, cache["blocks.1.hook_mlp_out"], rtol=1e-5, atol=1e-5)


def test_run_with_cache_with_saes_splices_the_sae_and_caches_its_hooks(model, plain, sae, tokens, clean):
    with torch.no_grad():
        logits, cache = model.run_with_cache_with_saes(tokens, saes=[sae])
    expected = with_replaced_activation(plain, tokens, lambda x: sae.decode(sae.encode(x)))
    torch.testing.assert_close(logits, expected, rtol=1e-5, atol=ATOL)
    assert (logits - clean[0]).abs().max() > 0.1  # the SAE really changed the output
    assert {f"{HOOK}.{h}" for h in SAE_HOOKS} <= set(cache.keys())
    torch.testing.assert_close(cache[f"{HOOK}.hook_sae_input"], clean[1], rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        torch.testing.assert_close(cache[f"{HOOK}.hook_sae_acts_post"], sae.encode(clean[1]), rtol=1e-5, atol=1e-5)
    assert_no_sae_left(model, tokens, clean[0])


def test_run_with_saes_matches_the_hooked_oracle(model, plain, sae, tokens, clean):
    with torch.no_grad():
        logits = model.run_with_saes(tokens, saes=[sae])
    torch.testing.assert_close(logits, with_replaced_activation(plain, tokens, lambda x: sae.decode(sae.encode(x))), rtol=1e-5, atol=ATOL)
    assert_no_sae_left(model, tokens, clean[0])


def test_saes_context_attaches_for_its_body_only(model, plain, sae, tokens, clean):
    with model.saes(saes=[sae]):
        assert {f"{HOOK}.{h}" for h in SAE_HOOKS} <= set(model.hook_dict)
        assert model.acts_to_saes == {HOOK: sae}
        with torch.no_grad():
            inside = model(tokens)
    torch.testing.assert_close(inside, with_replaced_activation(plain, tokens, lambda x: sae.decode(sae.encode(x))), rtol=1e-5, atol=ATOL)
    assert model.acts_to_saes == {}
    assert_no_sae_left(model, tokens, clean[0])


def test_error_term_reproduces_the_model_and_passes_feature_edits_through(model, plain, sae, tokens, clean):
    with torch.no_grad():
        logits, cache = model.run_with_cache_with_saes(tokens, saes=[sae], use_error_term=True)
    torch.testing.assert_close(logits, clean[0], rtol=1e-5, atol=ATOL)
    with torch.no_grad():
        torch.testing.assert_close(cache[f"{HOOK}.hook_sae_error"], clean[1] - sae.decode(sae.encode(clean[1])), rtol=1e-5, atol=1e-5)

    # Zero every feature: the output is the error term plus the decoder bias, which the plain model
    # reproduces as x - SAE(x) + b_dec.
    def zero(acts, hook):
        return torch.zeros_like(acts)

    with torch.no_grad(), model.saes(saes=[sae], use_error_term=True):
        ablated = model.run_with_hooks(tokens, fwd_hooks=[(f"{HOOK}.hook_sae_acts_post", zero)])
    expected = with_replaced_activation(plain, tokens, lambda x: x - sae.decode(sae.encode(x)) + sae.b_dec)
    torch.testing.assert_close(ablated, expected, rtol=1e-5, atol=ATOL)
    assert (ablated - clean[0]).abs().max() > 0.1
    assert_no_sae_left(model, tokens, clean[0])


def test_sidebar_hook_tree_lists_the_attached_saes_hooks(model, sae):
    import jsonschema
    from sidebar_fakes import FakePanel, request

    from lenslab.comm import protocol as p
    from lenslab.comm.handler import SidebarHandler
    from lenslab.comm.jobs import JobRunner

    panel = FakePanel(jsonschema.Draft202012Validator(p.json_schema()))
    handler = SidebarHandler(panel.send, lambda: {"model": model}, JobRunner())
    try:
        with model.saes(saes=[sae]):
            handler.handle(request("list_hooks", "s1", model="model"))
            reply = panel.last()
            assert [h["name"] for h in reply["hooks"]] == list(model.hook_dict)
            by_name = {h["name"]: h for h in reply["hooks"]}
            for suffix in SAE_HOOKS:
                assert (by_name[f"{HOOK}.{suffix}"]["layer"], by_name[f"{HOOK}.{suffix}"]["component"]) == (0, "sae")
            assert by_name[f"{HOOK}.hook_sae_acts_post"]["shape"] == ["batch", "pos", "d_sae"]
            assert by_name[f"{HOOK}.hook_sae_input"]["shape"] == ["batch", "pos", "d_model"]
            assert by_name["blocks.1.mlp.hook_in"]["component"] == "mlp"
            handler.handle(request("list_models", "s2"))
            assert panel.last()["models"][0]["n_hooks"] == len(model.hook_dict)
        handler.handle(request("list_hooks", "s3", model="model"))
        assert not any("hook_sae" in h["name"] for h in panel.last()["hooks"])
    finally:
        handler.close()


def test_sae_lens_training_runner_trains_on_a_local_token_dataset(model, tmp_path):
    import datasets
    from sae_lens import LanguageModelSAERunnerConfig, LanguageModelSAETrainingRunner, LoggingConfig, StandardTrainingSAEConfig

    generator = torch.Generator().manual_seed(0)
    rows = torch.randint(1, model.cfg.d_vocab, (256, 32), generator=generator)
    local = datasets.Dataset.from_dict({"input_ids": rows.tolist()})  # pre-tokenized, in memory: no hub
    cfg = LanguageModelSAERunnerConfig(
        sae=StandardTrainingSAEConfig(d_in=model.cfg.d_model, d_sae=128, l1_coefficient=1.0),
        model_name=MODEL,
        model_class_name="HookedSAETransformer",
        hook_name=HOOK,
        is_dataset_tokenized=True,
        streaming=False,
        context_size=32,
        training_tokens=8192,
        train_batch_size_tokens=128,
        store_batch_size_prompts=8,
        n_batches_in_buffer=8,
        lr=3e-3,
        logger=LoggingConfig(log_to_wandb=False),
        output_path=None,
        checkpoint_path=str(tmp_path / "checkpoints"),
        n_checkpoints=0,
        n_eval_batches=1,
        eval_batch_size_prompts=4,
        device="cpu",
        seed=0,
    )
    runner = LanguageModelSAETrainingRunner(cfg, override_model=model, override_dataset=local)
    initial = {k: v.detach().clone() for k, v in runner.sae.state_dict().items()}
    trained = runner.run()

    held_out = torch.randint(1, model.cfg.d_vocab, (8, 32), generator=generator)
    with torch.no_grad():
        _, cache = model.run_with_cache(held_out, names_filter=HOOK)
        acts = cache[HOOK].reshape(-1, model.cfg.d_model)
        after = (trained.decode(trained.encode(acts)) - acts).pow(2).mean()
        trained.load_state_dict(initial)
        before = (trained.decode(trained.encode(acts)) - acts).pow(2).mean()
    assert after < 0.5 * before, (before.item(), after.item())
