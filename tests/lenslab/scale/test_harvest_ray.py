"""harvest on a real local Ray cluster of 2 worker processes: equality, disk full, kill -9 of a worker and of the driver.

Exactly once: after each failure and rerun, the store's shards tile the sequences with no gap or
overlap (``open_store`` verifies every checksum and the tiling) and its tokens and activations equal
the oracle's row for row.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from lenslab.scale import HarvestError, harvest, open_store, shutdown

MODEL = "lenslab/gelu-2l"
HOOKS = ["blocks.0.mlp.hook_post", "blocks.1.hook_resid_post"]
SRC = Path(__file__).resolve().parents[3] / "py_src"

pytestmark = pytest.mark.slow


def run(tokens, out, **kwargs):
    options = dict(hooks=HOOKS, batch_size=2, seqs_per_shard=2, num_workers=2, progress=False)
    options.update(kwargs)
    return harvest(MODEL, tokens, out=out, **options)


def check_complete(out, model, tokens, oracle):
    """``model``: ``worker_model``, loaded on one thread as the workers load it."""
    store = open_store(out)  # verifies checksums and that the shards tile 0..n_seqs once
    assert torch.equal(store.tokens(), tokens)
    expected = oracle(model, tokens, HOOKS, batch_size=2, threads=1)
    for hook in HOOKS:
        torch.testing.assert_close(store[hook], expected[hook], atol=1e-6, rtol=0)
    return store


def test_two_workers_equal_run_with_cache(ray_cluster, worker_model, tokens, oracle, tmp_path):
    out = run(tokens, tmp_path / "h")
    store = check_complete(out, worker_model, tokens, oracle)
    pids = {json.loads((out / (s["file"] + ".json")).read_text())["worker_pid"] for s in store.shards}
    assert len(pids) == 2 and os.getpid() not in pids  # both worker processes took shards


def test_disk_full_in_a_worker_then_resume(ray_cluster, worker_model, tokens, oracle, tmp_path):
    out = tmp_path / "h"

    def disk_full(path, rows):
        if path.name == "shard-000005.safetensors" and rows >= 1:
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(HarvestError, match=r"^disk full writing .* shards complete\): free some space and rerun") as info:
        run(tokens, out, _fault=disk_full)
    assert "\n" not in str(info.value)
    assert not (out / "shard-000005.safetensors").exists()
    assert not list(out.glob(".tmp-*"))
    check_complete(run(tokens, out), worker_model, tokens, oracle)


def test_kill_9_of_a_worker_mid_run(ray_cluster, worker_model, tokens, oracle, tmp_path):
    out = tmp_path / "h"
    killed = []

    def kill_first_writer():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            for side in out.glob("shard-*.json") if out.exists() else []:
                pid = json.loads(side.read_text())["worker_pid"]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                break
            time.sleep(0.02)

    def slow(path, rows):
        time.sleep(0.05)

    watcher = threading.Thread(target=kill_first_writer)
    watcher.start()
    run(tokens, out, _fault=slow)  # Ray restarts the actor and retries its unfinished shards
    watcher.join()
    assert killed, "no worker was killed"
    store = check_complete(out, worker_model, tokens, oracle)
    assert len(store.shards) == 12
    computed = []
    run(tokens, out, _fault=lambda path, rows: computed.append(path.name))
    assert computed == []


DRIVER = """
import sys, time, torch
from lenslab.scale import harvest
tokens = torch.load(sys.argv[1])
def slow(path, rows):
    time.sleep(0.1)
harvest("lenslab/gelu-2l", tokens, {hooks!r}, sys.argv[2], batch_size=2, seqs_per_shard=2, num_workers=2,
        progress=False, address=sys.argv[3], _fault=slow)
print("finished")
"""


def test_kill_9_of_the_driver_then_rerun(ray_cluster, worker_model, tokens, oracle, tmp_path):
    out = tmp_path / "h"
    torch.save(tokens, tmp_path / "tokens.pt")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH")) if p)}
    address = ray_cluster.get_runtime_context().gcs_address
    shutdown()  # the pooled workers of this process hold both CPUs; the other driver needs them
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER.format(hooks=HOOKS), str(tmp_path / "tokens.pt"), str(out), address],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and driver.poll() is None:
            if out.exists() and len(list(out.glob("shard-*.json"))) >= 2:
                break
            time.sleep(0.05)
        assert driver.poll() is None, f"the driver ended before it could be killed: {driver.stdout.read()}"
        done_before = len(list(out.glob("shard-*.json")))
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(30)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert 2 <= done_before < 12
    with pytest.raises(HarvestError, match="incomplete"):
        open_store(out)
    check_complete(run(tokens, out), worker_model, tokens, oracle)
