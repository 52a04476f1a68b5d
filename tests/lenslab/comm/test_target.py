"""The comm target in a real kernel (jupyter_client, no browser): registration, a request, a patch job."""

from __future__ import annotations

import queue
import time
import uuid
from typing import Any

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
    before.open({"v": 3, "type": "hello", "id": "k0"})
    assert before.next_event() == ("closed", None)  # P11: no target yet, the panel says "import lenslab"

    run(kernel, "%load_ext lenslab")
    panel = KernelPanel(kernel)
    panel.open({"v": 3, "type": "hello", "id": "k1"})  # the first request rides on comm_open
    (welcome,) = panel.until("welcome")
    assert welcome["id"] == "k1" and welcome["protocol"] == p.PROTOCOL_VERSION

    panel.send({"v": 3, "type": "list_models", "id": "k2"})
    assert panel.until("models")[-1]["models"] == []
    run(kernel, SETUP)
    panel.send({"v": 3, "type": "list_models", "id": "k3"})
    (model,) = panel.until("models")[-1]["models"]
    assert model["name"] == "model" and model["has_tokenizer"]

    panel.send({"v": 3, "type": "exec", "id": "k4", "code": "import os"})
    error = panel.until("error")[-1]
    assert (error["id"], error["code"]) == ("k4", "unknown_type")

    job = {"model": "model", "kind": "heads_by_pos", "metric": "logit_diff", "clean_prompt": "Mary and John: John thanked",
           "corrupted_prompt": "Mary and John: Mary thanked", "correct_answer": " Mary", "incorrect_answer": " John"}
    panel.send({"v": 3, "type": "run_patch", "id": "k5", "job": job})
    events = panel.until("result")
    types = [e["type"] for e in events]
    assert types[0] == "job_started" and "progress" in types
    result = events[-1]
    assert result["widget_model_id"] in panel.widget_opens  # the PatchingGrid's model reached the front end
    # The kernel is healthy and idle afterwards, with no hook left on the model.
    run(kernel, "assert all(not hp.fwd_hooks for hp in model.hook_dict.values())")
