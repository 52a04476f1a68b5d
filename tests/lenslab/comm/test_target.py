"""The comm target in a real kernel (jupyter_client, no browser): registration, a request, a patch job."""

from __future__ import annotations

import queue
import time
import uuid
from typing import Any, Optional

import pytest

from lenslab.comm import COMM_TARGET, protocol as p
from lenslab.comm.target import register_comm_target


def test_outside_a_kernel_nothing_is_registered():
    assert register_comm_target() is False


SETUP = """
import torch
from transformers import AutoTokenizer
from transformer_lens import HookedTransformer, HookedTransformerConfig
torch.manual_seed(0)
model = HookedTransformer(HookedTransformerConfig(n_layers=2, d_model=32, n_ctx=64, d_head=8, n_heads=4, d_vocab=50257, act_fn="gelu", d_mlp=64))
model.set_tokenizer(AutoTokenizer.from_pretrained("gpt2"))
"""


class KernelPanel:
    """Talks to the kernel's comm target over the real shell and iopub channels."""

    def __init__(self, kc: Any) -> None:
        self.kc = kc
        self.comm_id = uuid.uuid4().hex
        self.widget_opens: list[str] = []

    def open(self, data: dict) -> None:
        self.kc.shell_channel.send(self.kc.session.msg("comm_open", {"comm_id": self.comm_id, "target_name": COMM_TARGET, "data": data}))

    def send(self, data: dict) -> None:
        self.kc.shell_channel.send(self.kc.session.msg("comm_msg", {"comm_id": self.comm_id, "data": data}))

    def next_event(self, timeout: float = 60) -> tuple[str, Any]:
        """("message", data) for our comm, or ("closed", None)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError("no message from the comm target") from None
            kind, content = msg["msg_type"], msg["content"]
            if kind == "comm_open" and content.get("target_name") == "jupyter.widget":
                self.widget_opens.append(content["comm_id"])
            if content.get("comm_id") != self.comm_id:
                continue
            if kind == "comm_close":
                return "closed", None
            if kind == "comm_msg":
                p.parse_kernel_message(content["data"])
                return "message", content["data"]

    def until(self, type_: str) -> list[dict]:
        seen = []
        while True:
            kind, data = self.next_event()
            assert kind == "message", f"comm closed while waiting for {type_}"
            seen.append(data)
            if data["type"] == type_:
                return seen


@pytest.fixture(scope="module")
def kernel():
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def run(kc: Any, code: str) -> None:
    reply = kc.execute_interactive(code, timeout=120)
    assert reply["content"]["status"] == "ok", reply["content"]


@pytest.mark.slow
def test_the_target_exists_once_lenslab_is_loaded_and_runs_a_job(kernel):
    before = KernelPanel(kernel)
    before.open({"v": 4, "type": "hello", "id": "k0"})
    assert before.next_event() == ("closed", None)  # P11: no target yet, the panel says "import lenslab"

    run(kernel, "%load_ext lenslab")
    panel = KernelPanel(kernel)
    panel.open({"v": 4, "type": "hello", "id": "k1"})  # the first request rides on comm_open
    (welcome,) = panel.until("welcome")
    assert welcome["id"] == "k1" and welcome["protocol"] == p.PROTOCOL_VERSION

    panel.send({"v": 4, "type": "list_models", "id": "k2"})
    assert panel.until("models")[-1]["models"] == []
    run(kernel, SETUP)
    panel.send({"v": 4, "type": "list_models", "id": "k3"})
    (model,) = panel.until("models")[-1]["models"]
    assert model["name"] == "model" and model["has_tokenizer"]

    panel.send({"v": 4, "type": "exec", "id": "k4", "code": "import os"})
    error = panel.until("error")[-1]
    assert (error["id"], error["code"]) == ("k4", "unknown_type")

    job = {"model": "model", "kind": "heads_by_pos", "metric": "logit_diff", "clean_prompt": "Mary and John: John thanked",
           "corrupted_prompt": "Mary and John: Mary thanked", "correct_answer": " Mary", "incorrect_answer": " John"}
    panel.send({"v": 4, "type": "run_patch", "id": "k5", "job": job})
    events = panel.until("result")
    types = [e["type"] for e in events]
    assert types[0] == "job_started" and "progress" in types
    result = events[-1]
    assert result["widget_model_id"] in panel.widget_opens  # the PatchingGrid's model reached the front end
    # The kernel is healthy and idle afterwards, with no hook left on the model.
    run(kernel, "assert all(not hp.fwd_hooks for hp in model.hook_dict.values())")


# ---- a cell and the sidebar at the same time, the comm on a subshell (JupyterLab's default) ----

CELL_SETUP = """
import threading, torch
from lenslab.comm.target import runner
from lenslab.comm.jobs import PROGRESS_INTERVAL_S
ablate = [("blocks.0.hook_resid_post", lambda act, hook: torch.zeros_like(act))]
cell_tokens = model.to_tokens("Mary and John went to the store")
with torch.no_grad():
    plain_reference = model(cell_tokens)
    ablated_reference = model.run_with_hooks(cell_tokens, fwd_hooks=ablate)
    _, cache_reference = model.run_with_cache(cell_tokens)
# Holds the job's first and second stacks of patched runs (batch > 1; the cell's forwards
# have batch 1) until gates[0] and gates[1] open.
# Reaching the second, it writes MARKER, which the test can see without messaging the kernel.
gates, stacks = [threading.Event(), threading.Event()], []
def gate(module, args):
    if args[0].shape[0] > 1:
        stacks.append(len(stacks))
        if len(stacks) == 2:
            open(MARKER, "w").close()
        if len(stacks) <= 2:
            gates[len(stacks) - 1].wait(120)
gate_handle = model.unembed.register_forward_pre_hook(gate)
"""

# The cell loops forwards (plain, hooked, cached) for as long as a job is active: it waits on
# the job, and every forward is compared with the sequential reference.
CELL_LOOP = """
import time
time.sleep(2 * PROGRESS_INTERVAL_S)  # so the job's next progress message is not held back
gates[0].set()  # the job goes on while this cell runs: its progress is sent meanwhile
wrong = forwards = 0
with torch.no_grad():
    while runner().active() or forwards < 30:
        wrong += not torch.equal(model(cell_tokens), plain_reference)
        wrong += not torch.equal(model.run_with_hooks(cell_tokens, fwd_hooks=ablate), ablated_reference)
        _, cache = model.run_with_cache(cell_tokens)
        wrong += any(not torch.equal(cache[k], v) for k, v in cache_reference.items())
        forwards += 3
"""


def shell_request(kc: Any, msg_type: str, content: dict, subshell_id: Optional[str] = None) -> str:
    msg = kc.session.msg(msg_type, content)
    if subshell_id is not None:
        msg["header"]["subshell_id"] = subshell_id
    kc.shell_channel.send(msg)
    return msg["header"]["msg_id"]


def shell_reply(kc: Any, msg_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        reply = kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


class SubshellPanel(KernelPanel):
    """A panel whose comm traffic goes through its own kernel subshell, as JupyterLab's does."""

    def __init__(self, kc: Any) -> None:
        super().__init__(kc)
        self.kc.control_channel.send(self.kc.session.msg("create_subshell_request", {}))
        reply = self.kc.get_control_msg(timeout=30)
        assert reply["content"]["status"] == "ok", reply["content"]
        self.subshell_id = reply["content"]["subshell_id"]

    def open(self, data: dict) -> None:
        shell_request(self.kc, "comm_open", {"comm_id": self.comm_id, "target_name": COMM_TARGET, "data": data}, self.subshell_id)

    def send(self, data: dict) -> None:
        shell_request(self.kc, "comm_msg", {"comm_id": self.comm_id, "data": data}, self.subshell_id)

    def ask(self, data: dict, reply_type: str) -> tuple[dict, float]:
        """Send a request; its reply and the seconds it took."""
        start = time.monotonic()
        self.send(data)
        while True:
            kind, message = self.next_event()
            assert kind == "message"
            if message["type"] in (reply_type, "error") and message["id"] == data["id"]:
                return message, time.monotonic() - start


@pytest.mark.slow
def test_a_cell_and_sidebar_jobs_run_together_exactly_and_requests_are_answered_at_once(kernel, tmp_path):
    info = kernel.kernel_info(reply=True)["content"]
    if "kernel subshells" not in info.get("supported_features", []):
        pytest.skip("this ipykernel has no subshells")
    run(kernel, "%load_ext lenslab")
    run(kernel, SETUP)
    marker = tmp_path / "second-stack"
    run(kernel, f"MARKER = {str(marker)!r}\n" + CELL_SETUP)
    panel = SubshellPanel(kernel)
    panel.open({"v": p.PROTOCOL_VERSION, "type": "hello", "id": "s1"})
    panel.until("welcome")

    v = p.PROTOCOL_VERSION
    job = {"model": "model", "kind": "heads_by_pos", "metric": "logit_diff", "clean_prompt": "Mary and John: John thanked",
           "corrupted_prompt": "Mary and John: Mary thanked", "correct_answer": " Mary", "incorrect_answer": " John"}
    panel.send({"v": v, "type": "run_patch", "id": "s2", "job": job})
    first = panel.until("job_started")[-1]["job"]["job_id"]
    panel.send({"v": v, "type": "run_patch", "id": "s3", "job": {**job, "kind": "heads_all_pos"}})
    second = panel.until("job_started")[-1]["job"]["job_id"]

    cell = shell_request(kernel, "execute_request", {"code": CELL_LOOP, "silent": False})  # the main shell is busy from here
    # The job's worker thread reports progress on its first stack of runs while the cell runs,
    # then waits at gates[1]. Sent in the cell's context, that progress message would make
    # ipykernel route every later request of the panel to the busy main shell.
    # (Any message to the kernel would change the parent that message gets: wait for a file.)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline, "the job never reached its second stack of runs"
        time.sleep(0.02)
    timings = {}
    for request, reply_type in (
        ({"v": v, "type": "hello", "id": "s4"}, "welcome"),
        ({"v": v, "type": "list_jobs", "id": "s5"}, "jobs"),
        ({"v": v, "type": "tokenize", "id": "s6", "model": "model", "prompts": ["Hi there"], "answers": [" Mary"]}, "tokens"),
        ({"v": v, "type": "cancel", "id": "s7", "job_id": second}, "cancel_ack"),
    ):
        reply, timings[request["type"]] = panel.ask(request, reply_type)
        assert reply["type"] == reply_type, reply
    print("control request round trips (s):", {k: round(t, 3) for k, t in timings.items()})
    assert max(timings.values()) < 1.0, timings
    jobs, _ = panel.ask({"v": v, "type": "list_jobs", "id": "s8"}, "jobs")
    assert [j["status"] for j in jobs["jobs"][-2:]] == ["running", "cancelled"]

    # Open the gate from the panel's subshell (the main shell is running the cell).
    opened = shell_request(kernel, "execute_request", {"code": "gates[1].set()", "silent": True}, panel.subshell_id)
    assert shell_reply(kernel, opened)["content"]["status"] == "ok"
    result = panel.until("result")[-1]
    assert result["job"]["job_id"] == first
    assert shell_reply(kernel, cell)["content"]["status"] == "ok"
    run(kernel, "gate_handle.remove()\nassert len(stacks) > 2 and forwards >= 30 and wrong == 0, (stacks, forwards, wrong)")
    # The job's numbers equal its own code, run alone afterwards (the sequential reference).
    run(kernel, result["code"] + f"\nassert results_{result['job']['job_id']}.flatten().tolist() == {result['values']!r}")
    run(kernel, "assert all(not hp.fwd_hooks and not hp.bwd_hooks for hp in model.hook_dict.values())")
