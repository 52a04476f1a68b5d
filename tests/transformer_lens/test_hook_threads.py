"""Hooks and threads: scoped hooks (run_with_hooks, run_with_cache, hooks(), patching) fire only
for the forward passes of the thread that added them; global hooks (add_hook) fire in every thread.

Every concurrent result is compared bit for bit with the same call made alone, sequentially.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import pytest
import torch

from transformer_lens import HookedTransformer, HookedTransformerConfig, patching

N_FORWARDS = 150
ABLATED = "blocks.0.hook_resid_post"


def tiny_model() -> HookedTransformer:
    cfg = dict(n_layers=2, d_model=16, n_ctx=12, d_head=4, n_heads=4, d_vocab=30, act_fn="gelu", seed=1, device="cpu")
    return HookedTransformer(HookedTransformerConfig(**cfg))


@pytest.fixture(scope="module")
def model():
    return tiny_model()


@pytest.fixture(scope="module")
def tokens():
    return torch.randint(0, 30, (2, 7), generator=torch.Generator().manual_seed(0))


def zero_ablate(act: torch.Tensor, hook: Any) -> torch.Tensor:
    return torch.zeros_like(act)


def no_hooks_left(model) -> bool:
    return all(not hp.fwd_hooks and not hp.bwd_hooks for hp in model.hook_points())


def run_together(*workers: Callable[[], None]) -> None:
    """Start every worker at the same moment, each on its own thread; re-raise the first failure."""
    start = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def body(work: Callable[[], None]) -> None:
        try:
            start.wait()
            work()
        except BaseException as e:  # reported on the main thread below
            errors.append(e)

    threads = [threading.Thread(target=body, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    if errors:
        raise errors[0]


def test_run_with_hooks_and_run_with_cache_on_two_threads_match_sequential_runs(model, tokens):
    with torch.no_grad():
        ablated_reference = model.run_with_hooks(tokens, fwd_hooks=[(ABLATED, zero_ablate)])
        clean_reference, clean_cache = model.run_with_cache(tokens)
    # The ablation changes everything downstream, so a leaked hook cannot go unnoticed.
    assert not torch.equal(ablated_reference, clean_reference)
    wrong = {"ablating": 0, "caching": 0}

    def ablating() -> None:
        with torch.no_grad():
            for _ in range(N_FORWARDS):
                out = model.run_with_hooks(tokens, fwd_hooks=[(ABLATED, zero_ablate)])
                wrong["ablating"] += not torch.equal(out, ablated_reference)

    def caching() -> None:
        with torch.no_grad():
            for _ in range(N_FORWARDS):
                out, cache = model.run_with_cache(tokens)
                same = cache.keys() == clean_cache.keys() and all(torch.equal(cache[k], v) for k, v in clean_cache.items())
                wrong["caching"] += not (same and torch.equal(out, clean_reference))

    run_together(ablating, caching)
    assert wrong == {"ablating": 0, "caching": 0}
    assert no_hooks_left(model)


def test_patching_on_one_thread_and_plain_forwards_on_another_match_sequential_runs(model, tokens):
    clean_tokens = torch.randint(0, 30, (2, 7), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        _, clean_cache = model.run_with_cache(clean_tokens)
        plain_reference = model(tokens)

    def metric(logits: torch.Tensor) -> torch.Tensor:
        return logits[:, -1, 3].mean()

    def patch() -> torch.Tensor:
        return patching.get_act_patch_resid_pre(model, tokens, clean_cache, metric, batch_size=2, progress=False)

    def patch_sequential() -> torch.Tensor:
        return patching.get_act_patch_attn_head_out_by_pos(model, tokens, clean_cache, metric, sequential=True, progress=False)

    batched_reference, sequential_reference = patch(), patch_sequential()
    wrong = {"batched": 0, "sequential": 0, "plain": 0}
    done = threading.Event()

    def patching_thread() -> None:
        try:
            for _ in range(8):
                wrong["batched"] += not torch.equal(patch(), batched_reference)
                wrong["sequential"] += not torch.equal(patch_sequential(), sequential_reference)
        finally:
            done.set()

    def plain_thread() -> None:
        n = 0
        with torch.no_grad():
            while n < N_FORWARDS or not done.is_set():
                wrong["plain"] += not torch.equal(model(tokens), plain_reference)
                n += 1

    run_together(patching_thread, plain_thread)
    assert wrong == {"batched": 0, "sequential": 0, "plain": 0}
    assert no_hooks_left(model)


class Paused:
    """Runs ``body`` on a thread inside ``with model.hooks(...)``, paused until told to go on."""

    def __init__(self, model, tokens, fwd_hooks=(), bwd_hooks=()) -> None:
        self.inside, self.go_on = threading.Event(), threading.Event()
        self.result: dict[str, Any] = {}

        def body() -> None:
            with model.hooks(fwd_hooks=fwd_hooks, bwd_hooks=bwd_hooks):
                self.result["seen"] = len(model.hook_dict[ABLATED].fwd_hooks)
                self.inside.set()
                self.go_on.wait(30)
                logits = model(tokens)
                self.result["logits"] = logits.detach()
                logits.sum().backward()

        self.thread = threading.Thread(target=body)

    def __enter__(self) -> "Paused":
        self.thread.start()
        assert self.inside.wait(30)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.go_on.set()
        self.thread.join(30)


def test_another_threads_scoped_hooks_are_invisible_here_and_survive_reset_hooks_here(model, tokens):
    with torch.no_grad():
        plain = model(tokens)
        ablated = model.run_with_hooks(tokens, fwd_hooks=[(ABLATED, zero_ablate)])
    with Paused(model, tokens, fwd_hooks=[(ABLATED, zero_ablate)]) as other:
        assert model.hook_dict[ABLATED].fwd_hooks == []  # introspection shows this thread's view
        with torch.no_grad():
            assert torch.equal(model(tokens), plain)
        model.reset_hooks()  # removes this thread's hooks and the global ones only
    assert other.result["seen"] == 1
    assert torch.equal(other.result["logits"], ablated)
    assert no_hooks_left(model)


def test_backward_hooks_of_a_hooks_block_fire_on_its_own_backward_only(model, tokens):
    grads: list[str] = []
    record = lambda grad, hook: grads.append(hook.name)  # noqa: E731
    with Paused(model, tokens, bwd_hooks=[(ABLATED, record)]):
        model(tokens).sum().backward()  # this thread's backward: no scoped hook of the other
        assert grads == []
    assert grads == [ABLATED]  # the other thread's backward reached its hook
    model.zero_grad(set_to_none=True)


def test_global_hooks_fire_in_every_thread(model, tokens):
    seen: list[str] = []
    (handle,) = model.add_hook(ABLATED, lambda act, hook: seen.append(threading.current_thread().name))
    try:
        worker = threading.Thread(target=lambda: model(tokens), name="worker")
        worker.start()
        worker.join(30)
        model(tokens)
    finally:
        handle.remove()
    assert seen == ["worker", threading.current_thread().name]
    assert no_hooks_left(model)


def test_run_with_hooks_without_reset_leaves_global_hooks_every_thread_sees(model, tokens):
    calls: list[str] = []
    model.run_with_hooks(tokens, fwd_hooks=[(ABLATED, lambda act, hook: calls.append("hook"))], reset_hooks_end=False)
    assert calls == ["hook"]
    worker = threading.Thread(target=lambda: model(tokens))
    worker.start()
    worker.join(30)
    assert calls == ["hook", "hook"]
    model.reset_hooks()
    model(tokens)
    assert calls == ["hook", "hook"] and no_hooks_left(model)


def test_scoped_hooks_nest_and_a_handle_removed_inside_stays_removed(model, tokens):
    calls: list[str] = []
    outer_hook = lambda act, hook: calls.append("outer")  # noqa: E731
    with model.hooks(fwd_hooks=[(ABLATED, outer_hook)]):
        with model.hooks(fwd_hooks=[(ABLATED, lambda act, hook: calls.append("inner"))]):
            model(tokens)
            assert [h.fn for h in model.hook_dict[ABLATED].fwd_hooks][0] is outer_hook
            model.hook_dict[ABLATED].fwd_hooks[0].remove()
            model(tokens)
        model(tokens)
    model(tokens)
    assert calls == ["outer", "inner", "inner"]
    assert no_hooks_left(model)


def test_assigning_fwd_hooks_keeps_what_is_listed(model, tokens):
    hook_point = model.hook_dict[ABLATED]
    calls: list[str] = []
    model.add_hook(ABLATED, lambda act, hook: calls.append("global"))
    with model.hooks(fwd_hooks=[(ABLATED, lambda act, hook: calls.append("scoped"))]):
        assert len(hook_point.fwd_hooks) == 2
        hook_point.fwd_hooks = [h for h in hook_point.fwd_hooks if h.scoped]  # upstream code edits the list
        model(tokens)
    model(tokens)
    assert calls == ["scoped"]
    assert no_hooks_left(model)
