"""Patch jobs over the fake comm: progress, results equal to the patching call, reproducible code, cancel."""

from __future__ import annotations

import threading

import pytest
import torch
from sidebar_fakes import IOI, job, request

from lenslab.comm.handler import SidebarHandler
from lenslab.comm.recipes import PATCH_KINDS
from transformer_lens import patching

pytestmark = pytest.mark.slow


def run_job(panel, handler, id_="j1", **overrides):
    handler.handle(request("run_patch", id_, job=job(**overrides)))
    started = panel.wait_for("job_started", lambda m: m["id"] == id_)
    return started, panel.wait_for("result", lambda m: m["id"] == id_)


# Short prompts keep the sweeps over every kind quick (7 tokens).
SHORT = {"clean_prompt": "Mary and John: John thanked", "corrupted_prompt": "Mary and John: Mary thanked"}


def direct(model, kind: str):
    """The same numbers through transformer_lens.patching, written out by hand."""
    clean, corrupted = model.to_tokens(SHORT["clean_prompt"]), model.to_tokens(SHORT["corrupted_prompt"])
    mary, john = model.to_single_token(" Mary"), model.to_single_token(" John")
    _, cache = model.run_with_cache(clean)

    def metric(logits):
        return (logits[:, -1, mary] - logits[:, -1, john]).mean()

    return getattr(patching, PATCH_KINDS[kind].function)(model, corrupted, cache, metric, progress=False)


def run_code(result: dict, model) -> torch.Tensor:
    """Runs a result's inserted cell; its tensor is ``results_<job id>``."""
    namespace = {"model": model}
    exec(compile(result["code"], "<inserted cell>", "exec"), namespace)  # the test plays the user running the cell
    return namespace[f"results_{result['job']['job_id']}"]


@pytest.mark.parametrize("kind", list(PATCH_KINDS))
def test_every_kind_streams_progress_and_matches_the_patching_call(session, lm, kind):
    panel, handler = session
    started, result = run_job(panel, handler, kind=kind, **SHORT)
    total = started["job"]["total"]
    assert started["job"]["status"] == "queued" and started["batch_size"] >= 1
    progress = [m for m in panel.of_type("progress") if m["job_id"] == started["job"]["job_id"]]
    assert progress and progress[-1]["done"] == total == progress[-1]["total"]
    assert [m["done"] for m in progress] == sorted(m["done"] for m in progress)
    assert result["job"]["status"] == "done" and result["job"]["done"] == total and result["job"]["elapsed_s"] >= 0
    # The inserted cell reproduces the very same numbers.
    from_code = run_code(result, lm)
    assert result["shape"] == list(from_code.shape) and from_code.numel() == total
    assert torch.equal(from_code.flatten(), torch.tensor(result["values"]))
    if kind in ("resid_pre", "heads_all_pos", "head_components_all_pos"):  # and a hand-written call agrees
        torch.testing.assert_close(from_code, direct(lm, kind), rtol=1e-5, atol=1e-5)
    assert result["widget_model_id"]
    assert all(not hp.fwd_hooks for hp in lm.hook_dict.values())


def test_progress_is_the_patching_engines_own_count(session, lm, monkeypatch):
    """Every progress message reports the runs the engine has finished, not metric calls."""
    from lenslab.comm import jobs

    monkeypatch.setattr(jobs, "PROGRESS_INTERVAL_S", 0.0)  # send every update
    panel, handler = session
    started, _ = run_job(panel, handler, kind="resid_pre", **SHORT)
    sent = [m["done"] for m in panel.of_type("progress") if m["job_id"] == started["job"]["job_id"]]

    clean, corrupted = lm.to_tokens(SHORT["clean_prompt"]), lm.to_tokens(SHORT["corrupted_prompt"])
    _, cache = lm.run_with_cache(clean)
    reported = []
    patching.get_act_patch_resid_pre(
        lm, corrupted, cache, lambda logits: logits[:, -1, 0].mean(), batch_size=started["batch_size"],
        progress=lambda done, total: reported.append(done),
    )
    assert sent == reported and sent[-1] == started["job"]["total"]


@pytest.mark.parametrize("metric", ["logit_diff", "normalized_logit_diff", "correct_logprob"])
def test_every_metric_is_reproduced_by_its_code(session, lm, metric):
    panel, handler = session
    _, result = run_job(panel, handler, kind="resid_pre", metric=metric)
    values = torch.tensor(result["values"])
    assert torch.equal(run_code(result, lm).flatten(), values)
    if metric == "normalized_logit_diff":
        assert (result["clean_metric"], result["corrupted_metric"]) == (1.0, 0.0)
        # Patching the residual stream entering layer 0 where the prompts differ restores the clean run.
        clean, corrupted = lm.to_tokens(IOI["clean_prompt"])[0], lm.to_tokens(IOI["corrupted_prompt"])[0]
        (where,) = (clean != corrupted).nonzero()[0].tolist()
        assert values.reshape(result["shape"])[0, where].item() == pytest.approx(1.0, abs=1e-4)


def test_the_code_is_plain_transformer_lens(session):
    panel, handler = session
    _, result = run_job(panel, handler, kind="heads_by_pos")
    code = result["code"]
    assert "patching.get_act_patch_attn_head_out_by_pos(" in code
    assert repr(IOI["clean_prompt"]) in code and "lenslab.show(results_" in code
    compile(code, "<cell>", "exec")


def test_inserted_code_keeps_the_notebooks_names_and_says_which_it_defines(session, lm):
    """Two jobs' cells run in a notebook that already has metric/results/clean_cache: those stay,
    each job's numbers land in its own suffixed names, and the comment lists exactly the new names."""
    panel, handler = session
    _, first = run_job(panel, handler, "j1", kind="resid_pre", **SHORT)
    _, second = run_job(panel, handler, "j2", kind="heads_all_pos", **SHORT)
    a, b = first["job"]["job_id"], second["job"]["job_id"]
    assert a != b
    mine = {"metric": object(), "results": object(), "clean_cache": object(), "clean_tokens": object(), "logit_diff": object()}
    namespace = {"model": lm, **mine}
    for result in (first, second):
        before = set(namespace)
        exec(compile(result["code"], "<inserted cell>", "exec"), namespace)
        job_id = result["job"]["job_id"]
        new = set(namespace) - before - {"__builtins__", "torch", "lenslab", "patching"}
        comment = " ".join(line[2:] for line in result["code"].splitlines() if line.startswith("# ")).split("Defines ", 1)[1]
        listed = comment.split(" (suffix", 1)[0].split(", ")
        assert set(listed) == new and len(listed) == len(new)
        assert {"metric", "results", "clean_cache"} <= {n.removesuffix(f"_{job_id}") for n in new}
        assert all(n.endswith(f"_{job_id}") for n in new)
        assert torch.equal(namespace[f"results_{job_id}"].flatten(), torch.tensor(result["values"]))
    assert all(namespace[k] is v for k, v in mine.items())


def test_a_prompt_cannot_inject_code(session, lm):
    panel, handler = session
    evil = "x'); import os; os.system('echo pwned'); ('"
    twin = evil.replace("x'", "y'")
    assert lm.to_tokens(evil).shape == lm.to_tokens(twin).shape
    _, result = run_job(panel, handler, kind="heads_all_pos", clean_prompt=evil, corrupted_prompt=twin)
    assert repr(evil) in result["code"]
    assert torch.equal(run_code(result, lm).flatten(), torch.tensor(result["values"]))


def test_list_jobs_and_get_result(session):
    panel, handler = session
    started, result = run_job(panel, handler, kind="heads_all_pos")
    job_id = started["job"]["job_id"]
    handler.handle(request("list_jobs", "l1"))
    (record,) = panel.last()["jobs"]
    assert record == result["job"]
    handler.handle(request("get_result", "g1", job_id=job_id))
    again = panel.last()
    assert again["type"] == "result" and again["id"] == "g1"
    assert {k: v for k, v in again.items() if k != "id"} == {k: v for k, v in result.items() if k != "id"}
    handler.handle(request("get_result", "g2", job_id=99))
    assert (panel.last()["code"], panel.last()["id"]) == ("unknown_job", "g2")
    handler.handle(request("cancel", "c9", job_id=99))
    assert (panel.last()["code"], panel.last()["request_type"]) == ("unknown_job", "cancel")
    handler.handle(request("cancel", "c1", job_id=job_id))  # already done: a no-op
    assert panel.last() == {"v": 4, "type": "cancel_ack", "id": "c1", "job_id": job_id}


def test_a_job_that_fails_mid_sweep_reports_and_the_next_one_runs(make_panel, runner, gated):
    model, gate = gated
    gate.fail = RuntimeError("out of memory (simulated)")
    panel = make_panel()
    handler = SidebarHandler(panel.send, lambda: {"model": model}, runner)
    handler.handle(request("run_patch", "f1", job=job(kind="heads_by_pos", **SHORT)))
    failed = panel.wait_for("job_failed")
    assert (failed["id"], failed["error_type"], failed["message"]) == ("f1", "RuntimeError", "out of memory (simulated)")
    assert all(not hp.fwd_hooks for hp in model.hook_dict.values())
    handler.handle(request("get_result", "g1", job_id=failed["job_id"]))
    assert panel.last()["code"] == "no_result"
    handler.handle(request("list_jobs", "l1"))
    assert panel.last()["jobs"][0]["message"] == "RuntimeError: out of memory (simulated)"
    gate.remove()
    _, result = run_job(panel, handler, "f2", kind="heads_all_pos", **SHORT)
    assert result["job"]["status"] == "done"


def test_normalising_equal_logit_differences_fails_the_job(session):
    panel, handler = session
    handler.handle(request("run_patch", "n1", job=job(metric="normalized_logit_diff", corrupted_prompt=IOI["clean_prompt"])))
    failed = panel.wait_for("job_failed")
    assert failed["error_type"] == "InvalidJob" and "normalised" in failed["message"]


class Gate:
    """Holds the job's first forward pass of stacked patched runs (batch > 1) until released.

    The clean and corrupted runs have batch 1, so the gate closes inside the sweep, whatever
    the engine does before it. ``reached`` is set once a forward pass waits at the gate.
    """

    def __init__(self, model) -> None:
        self.release = threading.Event()
        self.reached = threading.Event()
        self.fail: Exception | None = None  # raise this at the gate instead of waiting
        self.handle = model.unembed.register_forward_pre_hook(self)

    def __call__(self, module, args):
        if args[0].shape[0] <= 1:
            return
        if self.fail is not None:
            raise self.fail
        self.reached.set()
        assert self.release.wait(30), "gate never released"

    def remove(self) -> None:
        self.fail = None
        self.release.set()
        self.handle.remove()


@pytest.fixture
def gated(gpt2_tokenizer):
    """A fresh model whose sweeps wait at a gate (see Gate)."""
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    torch.manual_seed(0)
    model = HookedTransformer(HookedTransformerConfig(n_layers=2, d_model=32, n_ctx=64, d_head=8, n_heads=4, d_vocab=50257, act_fn="gelu", d_mlp=64))
    model.set_tokenizer(gpt2_tokenizer)
    gate = Gate(model)
    yield model, gate
    gate.remove()


def test_cancel_mid_job_stops_at_the_next_chunk_with_no_hooks_left(make_panel, runner, gated):
    model, gate = gated
    panel = make_panel()
    handler = SidebarHandler(panel.send, lambda: {"model": model}, runner)
    handler.handle(request("run_patch", "c1", job=job(kind="heads_by_pos")))
    started = panel.wait_for("job_started")
    job_id, total, batch = started["job"]["job_id"], started["job"]["total"], started["batch_size"]
    assert gate.reached.wait(30)  # a chunk of patched runs is in flight
    done_before = runner.get(job_id).done
    handler.handle(request("cancel", "c2", job_id=job_id))
    assert panel.last() == {"v": 4, "type": "cancel_ack", "id": "c2", "job_id": job_id}
    gate.release.set()
    cancelled = panel.wait_for("cancelled")
    assert cancelled["id"] == "c1" and cancelled["job_id"] == job_id
    # The chunk in flight finished, and no further one started.
    assert done_before < cancelled["done"] <= done_before + batch < total
    assert not panel.of_type("result")
    assert all(not hp.fwd_hooks for hp in model.hook_dict.values())
    handler.handle(request("list_jobs", "l1"))
    assert panel.last()["jobs"][0]["status"] == "cancelled"
    # The kernel side is healthy: the same model runs a full job afterwards.
    _, result = run_job(panel, handler, "c3", kind="heads_all_pos")
    assert result["job"]["status"] == "done"


def test_a_queued_job_is_cancelled_at_once(make_panel, runner, gated):
    model, gate = gated
    panel = make_panel()
    handler = SidebarHandler(panel.send, lambda: {"model": model}, runner)
    handler.handle(request("run_patch", "q1", job=job(kind="heads_by_pos")))
    assert gate.reached.wait(30)  # job 1 is held by the gate
    handler.handle(request("run_patch", "q2", job=job(kind="heads_all_pos")))
    second = panel.wait_for("job_started", lambda m: m["id"] == "q2")["job"]["job_id"]
    handler.handle(request("list_jobs", "l1"))
    assert [j["status"] for j in panel.last()["jobs"]] == ["running", "queued"]
    handler.handle(request("cancel", "q3", job_id=second))
    cancelled = panel.wait_for("cancelled")
    assert (cancelled["id"], cancelled["job_id"], cancelled["done"]) == ("q2", second, 0)
    types = [m["type"] for m in panel.messages]
    assert types.index("cancel_ack") < types.index("cancelled")  # the reply first, then the event
    gate.release.set()
    panel.wait_for("result", lambda m: m["id"] == "q1")
    assert runner.wait_idle(30)


def test_every_open_panel_follows_a_job_and_a_closed_one_is_dropped(make_panel, runner, namespace):
    a, b, gone = make_panel(), make_panel(), make_panel()
    ha = SidebarHandler(a.send, lambda: namespace, runner)
    SidebarHandler(b.send, lambda: namespace, runner)
    SidebarHandler(gone.send, lambda: namespace, runner)
    gone.closed = True  # its send raises, as a closed comm's would
    ha.handle(request("run_patch", "p1", job=job()))
    result_b = b.wait_for("result")
    assert result_b["id"] == "p1" and a.wait_for("result") == result_b
    assert gone.messages == []
    ha.close()
    ha.handle(request("hello"))  # still answers its own requests
    assert a.last()["type"] == "welcome"


def edit_weights(model):
    with torch.no_grad():
        model.blocks[0].attn.W_Q[0, 0, 0] += 1.0


def flip_config(model):
    model.set_use_attn_result(True)


def add_global_hook(model):
    model.add_hook("blocks.0.hook_resid_pre", lambda act, hook: None)


@pytest.mark.parametrize("edit, what", [(edit_weights, "weights"), (flip_config, "config"), (add_global_hook, "global hooks")])
def test_a_job_fails_when_a_cell_changes_the_model_under_it(make_panel, runner, gated, edit, what):
    model, gate = gated
    panel = make_panel()
    handler = SidebarHandler(panel.send, lambda: {"model": model}, runner)
    handler.handle(request("run_patch", "e1", job=job(kind="heads_by_pos")))
    assert gate.reached.wait(30)
    edit(model)  # what a notebook cell may do while the job runs
    gate.release.set()
    failed = panel.wait_for("job_failed")
    assert failed["error_type"] == "ModelChanged"
    assert failed["message"].startswith(f"model's {what} changed while the job ran")
    assert not panel.of_type("result")
    model.reset_hooks()
    model.set_use_attn_result(False)


def test_a_cell_running_forwards_and_hooks_during_a_job_changes_neither(make_panel, runner, lm, namespace):
    """No guard holds the cell: the job's hooks are scoped to its thread, the cell's to the cell."""
    tokens = lm.to_tokens(SHORT["clean_prompt"])
    ablate = [("blocks.0.hook_resid_post", lambda act, hook: torch.zeros_like(act))]
    with torch.no_grad():
        plain, ablated = lm(tokens), lm.run_with_hooks(tokens, fwd_hooks=ablate)
    panel = make_panel()
    handler = SidebarHandler(panel.send, lambda: namespace, runner)
    handler.handle(request("run_patch", "f1", job=job(kind="heads_by_pos", **SHORT)))
    wrong = forwards = 0
    with torch.no_grad():
        while not runner.get(1).finished.is_set() or forwards < 20:
            wrong += not torch.equal(lm(tokens), plain)
            wrong += not torch.equal(lm.run_with_hooks(tokens, fwd_hooks=ablate), ablated)
            forwards += 2
    result = panel.wait_for("result")
    assert wrong == 0
    # The sequential reference: the job's own code, run alone afterwards, gives the same bits.
    assert torch.equal(run_code(result, lm).flatten(), torch.tensor(result["values"]))
