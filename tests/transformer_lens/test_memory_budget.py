"""transformer_lens.memory_budget: estimates against the bytes really stored, refusals, chunked sweeps."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from tests.support.hook_state import attached_hooks
from transformer_lens import HookedTransformer, HookedTransformerConfig, memory_budget, patching
from transformer_lens.kv_cache import HookedTransformerKeyValueCache

SMALL = dict(n_layers=2, d_model=16, n_ctx=32, d_head=4, n_heads=4, d_vocab=50)
FAMILIES = {
    "gpt2": dict(act_fn="gelu", normalization_type="LN"),
    "llama_gqa": dict(
        n_key_value_heads=2, act_fn="silu", normalization_type="RMS", positional_embedding_type="rotary", gated_mlp=True, rotary_dim=4
    ),
    "attn_only": dict(attn_only=True, normalization_type="LNPre"),
    "solu": dict(act_fn="solu_ln", normalization_type="LN"),
    "parallel_shortformer": dict(act_fn="gelu", normalization_type="LN", parallel_attn_mlp=True, positional_embedding_type="shortformer"),
    "gemma2_bf16": dict(
        act_fn="gelu_pytorch_tanh", normalization_type="RMS", positional_embedding_type="rotary", gated_mlp=True,
        rotary_dim=4, use_normalization_before_and_after=True, dtype=torch.bfloat16,
    ),
}
FILTERS = {
    "all": None,
    "resid": lambda name: "resid" in name,
    "patterns": ["blocks.0.attn.hook_pattern", "blocks.1.attn.hook_attn_scores"],
}


def _model(family: str, switches: bool = False, seed: int = 0) -> HookedTransformer:
    model = HookedTransformer(HookedTransformerConfig(seed=seed, **SMALL, **FAMILIES[family]))
    if switches:  # hooks that only fire on request change the shapes ln1 sees
        model.set_use_attn_result(True)
        model.set_use_split_qkv_input(True)
        if not model.cfg.attn_only:
            model.set_use_hook_mlp_in(True)
    return model


def _stored_bytes(cache: dict) -> int:
    return sum(tensor.nbytes for tensor in cache.values())


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("switches", [False, True])
def test_cache_estimate_equals_stored_bytes(family: str, switches: bool) -> None:
    """The estimate (no forward) equals the sum of nbytes of the cache run_with_cache really builds."""
    model = _model(family, switches)
    tokens = torch.randint(0, 50, (3, 7), generator=torch.Generator().manual_seed(1))
    for filter_name, names_filter in FILTERS.items():
        for pos_slice in (None, (1, 5), -1):
            with torch.no_grad():
                _, cache = model.run_with_cache(tokens, names_filter=names_filter, pos_slice=pos_slice, return_cache_object=False)
            keep = model._names_predicate(names_filter)
            names = [name for name in model.hook_dict if keep(name)]
            estimate = memory_budget.cache_bytes(model, names, 3, 7, pos_slice)
            assert estimate == _stored_bytes(cache), (family, filter_name, pos_slice)


def test_sliced_cache_owns_only_the_kept_positions() -> None:
    """A position slice must not keep the full activation alive through a view."""
    model = _model("gpt2")
    with torch.no_grad():
        _, cache = model.run_with_cache(torch.randint(0, 50, (2, 9)), pos_slice=-1, return_cache_object=False)
    for name, tensor in cache.items():
        assert tensor.untyped_storage().nbytes() == tensor.nbytes, name


def _counting_forwards(model: HookedTransformer) -> list[int]:
    """A permanent hook on the embedding: one count per full forward pass."""
    calls = [0]

    def count(act: torch.Tensor, hook: Any) -> None:
        calls[0] += 1

    model.add_perma_hook("hook_embed", count)
    return calls


def test_over_budget_cache_is_refused_before_any_forward() -> None:
    model = _model("gpt2")
    calls = _counting_forwards(model)
    tokens = torch.randint(0, 50, (4, 8))
    full = memory_budget.cache_bytes(model, list(model.hook_dict), 4, 8)
    with pytest.raises(MemoryError, match=r"run_with_cache would store .* batch 4 x 8 positions.*names_filter=.*pos_slice=") as error:
        model.run_with_cache(tokens, max_memory_mb=full / 2 / memory_budget.MIB)
    assert "\n" not in str(error.value)
    assert calls[0] == 0
    assert attached_hooks(model) == ["hook_embed"]  # only the test's own counter
    # The same budget fits once the filter keeps one hook per layer.
    _, cache = model.run_with_cache(tokens, names_filter=lambda n: n.endswith("resid_post"), max_memory_mb=full / 2 / memory_budget.MIB)
    assert calls[0] == 1 and len(cache) == 2
    assert attached_hooks(model) == ["hook_embed"]


def test_default_budget_is_the_free_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no max_memory_mb, the ceiling is what the cache's device has free."""
    model = _model("gpt2")
    full = memory_budget.cache_bytes(model, list(model.hook_dict), 2, 5)
    monkeypatch.setattr(memory_budget, "available_bytes", lambda device: full - 1)
    with pytest.raises(MemoryError, match=r"free memory on cpu"):
        model.run_with_cache(torch.randint(0, 50, (2, 5)))
    assert attached_hooks(model) == []
    monkeypatch.setattr(memory_budget, "available_bytes", lambda device: full)
    _, cache = model.run_with_cache(torch.randint(0, 50, (2, 5)), return_cache_object=False)
    assert _stored_bytes(cache) == full


def test_budget_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory_budget, "available_bytes", lambda device: 10 * memory_budget.MIB)
    capped = memory_budget.MemoryBudget.resolve(100, "cpu")
    assert capped.limit_bytes == 10 * memory_budget.MIB and "free memory on cpu" in capped.source
    assert memory_budget.MemoryBudget.resolve(4, "cpu").limit_bytes == 4 * memory_budget.MIB
    assert memory_budget.MemoryBudget.resolve(None, "cpu").limit_bytes == 10 * memory_budget.MIB
    assert memory_budget.MemoryBudget.resolve(None, "cpu", default_mb=2).limit_bytes == 2 * memory_budget.MIB
    for bad in (0, -1, float("nan"), float("inf"), True, "1"):
        with pytest.raises(ValueError, match=r"max_memory_mb must be a positive number of megabytes"):
            memory_budget.MemoryBudget.resolve(bad, "cpu")


def test_available_bytes_is_a_real_figure() -> None:
    free = memory_budget.available_bytes("cpu")
    assert free is not None and 0 < free
    assert memory_budget.available_bytes("meta") is None


def test_cpu_offload_stores_every_activation_on_cpu() -> None:
    model = _model("llama_gqa")
    tokens = torch.randint(0, 50, (2, 6))
    with torch.no_grad():
        _, here = model.run_with_cache(tokens, return_cache_object=False)
        _, offloaded = model.run_with_cache(tokens, device="cpu", return_cache_object=False)
    assert offloaded.keys() == here.keys()
    for name, tensor in offloaded.items():
        assert tensor.device == torch.device("cpu")
        assert torch.equal(tensor, here[name]), name


def test_offload_moves_each_activation_as_its_hook_fires() -> None:
    """With ``device=`` set, an activation leaves the model's device inside its own hook, so
    the cache never piles up there. The meta device stands in for "not the model's device"."""
    model = _model("gpt2")
    cache, fwd, _ = model.get_caching_hooks(device="meta")
    devices_mid_forward: dict[str, torch.device] = {}

    def peek(act: torch.Tensor, hook: Any) -> None:
        devices_mid_forward.update({name: tensor.device for name, tensor in cache.items()})

    with torch.no_grad(), model.hooks(fwd + [("blocks.1.hook_resid_pre", peek)]):
        model(torch.randint(0, 50, (2, 5)))
    assert "blocks.0.hook_resid_post" in devices_mid_forward and "blocks.1.hook_resid_pre" in devices_mid_forward
    assert set(devices_mid_forward.values()) == {torch.device("meta")}
    assert {tensor.device for tensor in cache.values()} == {torch.device("meta")}
    assert attached_hooks(model) == []


# ---- the key/value cache ---------------------------------------------------------------------


@pytest.mark.parametrize("family", ["gpt2", "llama_gqa"])
def test_kv_cache_estimate_equals_the_grown_cache(family: str) -> None:
    model = _model(family)
    prompt, new_tokens = 7, 5
    cache = HookedTransformerKeyValueCache.init_cache(model.cfg, "cpu", 3)
    step = torch.randint(0, 50, (3, prompt))
    with torch.no_grad():
        for _ in range(new_tokens - 1):  # as generate: the last new token is never fed back
            step = model(step, past_kv_cache=cache)[:, -1:].argmax(-1)
        model(step, past_kv_cache=cache)
    grown = sum(e.past_keys.nbytes + e.past_values.nbytes for e in cache.entries) + cache.previous_attention_mask.nbytes
    assert memory_budget.kv_cache_bytes(model.cfg, 3, prompt + new_tokens - 1) == grown


def test_generate_refuses_a_kv_cache_over_budget() -> None:
    model = _model("gpt2")
    calls = _counting_forwards(model)
    tokens = torch.randint(0, 50, (3, 7))
    needed = memory_budget.kv_cache_bytes(model.cfg, 3, 7 + 10 - 1)
    with pytest.raises(MemoryError, match=r"key/value cache would need 12,672 bytes \(batch 3 x 16 positions x 2 layers") as error:
        model.generate(tokens, max_new_tokens=10, max_memory_mb=(needed - 1) / memory_budget.MIB, stop_at_eos=False, verbose=False)
    # 2 layers x (keys + values) x batch 3 x 16 positions x 4 heads x d_head 4 x 4 bytes, plus a long mask per position.
    assert needed == 2 * 2 * 3 * 16 * 4 * 4 * 4 + 3 * 16 * 8 and "\n" not in str(error.value)
    assert calls[0] == 0 and attached_hooks(model) == ["hook_embed"]
    fits = model.generate(tokens, max_new_tokens=10, max_memory_mb=needed / memory_budget.MIB, do_sample=False, stop_at_eos=False, verbose=False)
    plain = model.generate(tokens, max_new_tokens=10, do_sample=False, stop_at_eos=False, verbose=False)
    assert torch.equal(fits, plain)
    # Without the cache nothing is held across steps: the budget does not apply.
    model.generate(tokens, max_new_tokens=2, max_memory_mb=1e-6, use_past_kv_cache=False, stop_at_eos=False, verbose=False)


# ---- patching sweeps ---------------------------------------------------------------------------


def _logit_diff(logits: torch.Tensor) -> torch.Tensor:
    return (logits[:, -1, 3] - logits[:, -1, 7]).mean()


@pytest.fixture(scope="module")
def sweep_setup():
    model = _model("gpt2", seed=3)
    model.eval()
    generator = torch.Generator().manual_seed(3)
    clean = torch.randint(0, 50, (2, 6), generator=generator)
    corrupted = torch.randint(0, 50, (2, 6), generator=generator)
    with torch.no_grad():
        _, cache = model.run_with_cache(clean)
    return model, corrupted, cache


def _sweep_forwards(setup: tuple, **options: Any) -> tuple[torch.Tensor, int]:
    """The head-output sweep, and how many forward passes ran through the last block."""
    model = setup[0]
    calls = [0]

    def count(act: torch.Tensor, hook: Any) -> None:
        calls[0] += 1

    handles = model.add_perma_hook(f"blocks.{model.cfg.n_layers - 1}.hook_resid_post", count)
    try:
        result = patching.get_act_patch_attn_head_out_by_pos(*setup, _logit_diff, progress=False, **options)
    finally:
        for handle in handles:
            handle.remove()
    return result, calls[0]


def test_small_budget_chunks_and_agrees_with_one_chunk(sweep_setup) -> None:
    model = sweep_setup[0]
    whole, whole_forwards = _sweep_forwards(sweep_setup, max_memory_mb=1024)
    per_run = 2 * 6 * (2 * model.cfg.d_mlp + 6 * 16 + 3 * 4 * 6) * 4  # runs_per_chunk's bytes for one run, worst case
    small, small_forwards = _sweep_forwards(sweep_setup, max_memory_mb=3 * per_run / memory_budget.MIB)
    legacy, _ = _sweep_forwards(sweep_setup, max_batch_memory_mb=3 * per_run / memory_budget.MIB)
    sequential, _ = _sweep_forwards(sweep_setup, sequential=True)
    assert small_forwards > whole_forwards + 5, (small_forwards, whole_forwards)
    assert (small - whole).abs().max() <= 1e-6
    assert torch.equal(small, legacy)
    assert (small - sequential).abs().max() < 1e-5
    assert attached_hooks(model) == []


def test_patching_budget_is_capped_by_free_memory(sweep_setup, monkeypatch: pytest.MonkeyPatch) -> None:
    model = sweep_setup[0]
    whole, whole_forwards = _sweep_forwards(sweep_setup, max_memory_mb=1024)
    monkeypatch.setattr(memory_budget, "available_bytes", lambda device: 4096)
    capped, capped_forwards = _sweep_forwards(sweep_setup, max_memory_mb=1024)
    assert capped_forwards > whole_forwards
    assert (capped - whole).abs().max() <= 1e-6


def test_patching_budget_names_must_agree(sweep_setup) -> None:
    model = sweep_setup[0]
    with pytest.raises(ValueError, match=r"max_memory_mb=10 and max_batch_memory_mb=20 disagree"):
        patching.get_act_patch_resid_pre(*sweep_setup, _logit_diff, progress=False, max_memory_mb=10, max_batch_memory_mb=20)
    with pytest.raises(ValueError, match=r"max_memory_mb must be a positive number of megabytes, got 0"):
        patching.get_act_patch_resid_pre(*sweep_setup, _logit_diff, progress=False, max_memory_mb=0)
    assert attached_hooks(model) == []


def test_estimate_follows_start_stop_layers_and_past_keys() -> None:
    """Only the blocks a partial forward runs are counted; cached keys widen the attention patterns."""
    model = _model("gpt2")
    tokens = torch.randint(0, 50, (2, 5))
    seen: dict[str, int] = {}

    def record(model_args: tuple, **kwargs: Any) -> int:
        with torch.no_grad():
            _, cache = model.run_with_cache(*model_args, return_cache_object=False, **kwargs)
        captured = {}
        original = memory_budget.cache_bytes

        def spy(*args: Any, **more: Any) -> int:
            captured["estimate"] = original(*args, **more)
            return captured["estimate"]

        memory_budget.cache_bytes = spy
        try:
            with torch.no_grad():
                model.run_with_cache(*model_args, return_cache_object=False, **kwargs)
        finally:
            memory_budget.cache_bytes = original
        assert captured["estimate"] == _stored_bytes(cache), kwargs.keys()
        return captured["estimate"]

    seen["full"] = record((tokens,))
    residual = torch.randn(2, 5, 16)
    seen["from_layer_1"] = record((residual,), start_at_layer=1)
    seen["to_layer_1"] = record((tokens,), stop_at_layer=1)
    assert seen["from_layer_1"] < seen["full"] and seen["to_layer_1"] < seen["full"]
    kv = HookedTransformerKeyValueCache.init_cache(model.cfg, "cpu", 2)
    with torch.no_grad():
        model(tokens, past_kv_cache=kv)
    kv.freeze()  # both runs inside record() then see the same 5 cached positions
    record((tokens[:, :2],), past_kv_cache=kv)


def test_encoder_cache_estimate_and_refusal() -> None:
    from transformer_lens import HookedEncoder

    model = HookedEncoder(
        dict(
            n_layers=2, d_model=32, n_ctx=16, d_head=8, n_heads=4, d_mlp=64, d_vocab=50, act_fn="gelu", seed=0,
            attention_dir="bidirectional", device="cpu", original_architecture="BertForMaskedLM", normalization_type="LN",
        )
    )
    tokens = torch.randint(0, 50, (2, 6))
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens, return_cache_object=False)
    assert memory_budget.cache_bytes(model, list(model.hook_dict), 2, 6) == _stored_bytes(cache)
    with pytest.raises(MemoryError, match=r"run_with_cache would store"):
        model.run_with_cache(tokens, max_memory_mb=_stored_bytes(cache) / 2 / memory_budget.MIB)
    assert attached_hooks(model) == []


def test_mixture_of_experts_estimate_is_close_and_not_below() -> None:
    """Expert hooks see a data-dependent number of tokens: the estimate takes the average per
    expert, rounded up, so it is close to the stored bytes and never under them here."""
    model = HookedTransformer(
        HookedTransformerConfig(
            n_layers=2, d_model=16, d_head=4, n_ctx=16, d_vocab=23, act_fn="silu", d_mlp=12, gated_mlp=True, seed=3,
            num_experts=5, experts_per_token=2, normalization_type="RMS", positional_embedding_type="rotary",
        )
    )
    with torch.no_grad():
        _, cache = model.run_with_cache(torch.randint(0, 23, (3, 7)), return_cache_object=False)
    estimate = memory_budget.cache_bytes(model, list(model.hook_dict), 3, 7)
    stored = _stored_bytes(cache)
    assert stored <= estimate <= 1.02 * stored
    dense = [name for name in model.hook_dict if ".experts." not in name]
    assert memory_budget.cache_bytes(model, dense, 3, 7) == sum(cache[name].nbytes for name in dense if name in cache)
