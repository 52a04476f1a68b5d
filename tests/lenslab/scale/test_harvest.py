"""harvest without Ray (num_workers=0 runs the workers' code in this process): files, resume, bad input.

Oracle: ``run_with_cache`` on the same tokens with the same hooks (batch by batch, as the workers run).
The Ray paths (2 worker processes, kill -9, disk full across processes) are in test_harvest_ray.py.
"""

from __future__ import annotations

import errno
import json

import numpy as np
import pytest
import torch

from lenslab.scale import HarvestError, harvest, open_store
from lenslab.scale._shards import sha256_file

MODEL = "lenslab/gelu-2l"
HOOKS = ["blocks.0.mlp.hook_post", "blocks.1.hook_resid_post", "blocks.0.attn.hook_pattern"]


def run(tokens, out, **kwargs):
    options = dict(hooks=HOOKS, batch_size=4, seqs_per_shard=8, num_workers=0, progress=False)
    options.update(kwargs)
    return harvest(MODEL, tokens, out=out, **options)


def test_store_equals_run_with_cache(model, tokens, oracle, tmp_path):
    store = open_store(run(tokens, tmp_path / "h"))
    expected = oracle(model, tokens, HOOKS, batch_size=4)
    assert store.n_seqs == 24 and store.seq_len == 32 and len(store.shards) == 3
    for hook in HOOKS:
        assert store[hook].shape == expected[hook].shape == store.shape(hook)
        torch.testing.assert_close(store[hook], expected[hook], atol=1e-6, rtol=0)
    assert torch.equal(store.tokens(), tokens)
    # A row range across a shard boundary reads the same rows.
    torch.testing.assert_close(store.activations(HOOKS[0], slice(5, 19)), expected[HOOKS[0]][5:19], atol=1e-6, rtol=0)
    starts = [start for start, *_ in store.iter_shards(HOOKS[0])]
    assert starts == [0, 8, 16]


def test_manifest_records_the_run(tokens, tmp_path):
    out = run(tokens, tmp_path / "h", dtype=torch.float16, positions=[0, -1])
    manifest = json.loads((out / "manifest.json").read_text())
    run_info = manifest["run"]
    assert manifest["complete"] is True
    assert run_info["model_name"] == MODEL and run_info["hooks"] == HOOKS and run_info["dtype"] == "float16"
    assert run_info["shapes"] == {"blocks.0.mlp.hook_post": [2, 1024], "blocks.1.hook_resid_post": [2, 256], "blocks.0.attn.hook_pattern": [8, 2, 32]}
    assert [(s["start"], s["stop"]) for s in manifest["shards"]] == [(0, 8), (8, 16), (16, 24)]
    for shard in manifest["shards"]:
        assert sha256_file(out / shard["file"]) == shard["sha256"]
    assert open_store(out).positions == [0, 31]


def test_positions_and_dtype(model, tokens, oracle, tmp_path):
    store = open_store(run(tokens, tmp_path / "h", dtype="bfloat16", positions=slice(3, 20, 2)))
    expected = oracle(model, tokens, HOOKS, batch_size=4, positions=slice(3, 20, 2))
    for hook in HOOKS:
        assert store[hook].dtype == torch.bfloat16
        torch.testing.assert_close(store[hook], expected[hook].to(torch.bfloat16), atol=0, rtol=0)
    assert store.positions == list(range(3, 20, 2))


def test_token_files_and_datasets_read_like_a_tensor(tokens, tmp_path):
    reference = open_store(run(tokens, tmp_path / "tensor"))
    np.save(tmp_path / "a.npy", tokens[:10].numpy())
    torch.save(tokens[10:].clone(), tmp_path / "b.pt")
    from_files = open_store(run([tmp_path / "a.npy", tmp_path / "b.pt"], tmp_path / "files"))
    assert torch.equal(from_files[HOOKS[1]], reference[HOOKS[1]])
    datasets = pytest.importorskip("datasets")
    dataset = datasets.Dataset.from_dict({"input_ids": tokens.tolist(), "text": ["x"] * 24})
    from_dataset = open_store(run(dataset, tmp_path / "dataset"))
    assert torch.equal(from_dataset[HOOKS[1]], reference[HOOKS[1]])


def test_rerun_skips_verified_shards_and_redoes_a_damaged_one(tokens, tmp_path):
    out = run(tokens, tmp_path / "h")
    first = open_store(out)[HOOKS[1]]
    computed = []

    def record(path, rows):
        computed.append(path.name)

    run(tokens, out, _fault=record)
    assert computed == []  # every shard verified, none recomputed
    damaged = out / "shard-000001.safetensors"
    data = bytearray(damaged.read_bytes())
    data[-1] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(HarvestError, match="checksum"):
        open_store(out)
    run(tokens, out, _fault=record)
    assert set(computed) == {"shard-000001.safetensors"}
    assert torch.equal(open_store(out)[HOOKS[1]], first)


def test_failure_mid_run_then_resume(tokens, tmp_path):
    out = tmp_path / "h"

    def disk_full(path, rows):
        if path.name == "shard-000002.safetensors" and rows >= 4:  # half-way through the last shard
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(HarvestError, match="disk full.*2 of 3 shards complete.*rerun the same call to resume") as info:
        run(tokens, out, _fault=disk_full)
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in out.iterdir()) == [
        ".lock", "manifest.json", "shard-000000.safetensors", "shard-000000.safetensors.json",
        "shard-000001.safetensors", "shard-000001.safetensors.json",
    ]  # no partial shard, no temporary file
    with pytest.raises(HarvestError, match="incomplete"):
        open_store(out)
    computed = []
    run(tokens, out, _fault=lambda path, rows: computed.append(path.name))
    assert set(computed) == {"shard-000002.safetensors"}
    store = open_store(out)
    assert torch.equal(store.tokens(), tokens)  # every sequence exactly once, in order


def _no_workers(monkeypatch):
    from lenslab.scale import _ray

    def refuse(*args, **kwargs):
        raise AssertionError("a worker was started")

    monkeypatch.setattr(_ray, "connect", refuse)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"hooks": ["blocks.0.mlp.hook_psot"]}, r"No hook point named 'blocks.0.mlp.hook_psot'. Did you mean: blocks.0.mlp.hook_post"),
        ({"hooks": ["blocks.2.hook_resid_post"]}, r"No hook point named 'blocks.2.hook_resid_post'.*2 layers"),
        ({"hooks": ["blocks.0.attn.hook_result"]}, r"fires only with cfg.use_attn_result"),
        ({"hooks": []}, r"at least one hook"),
        ({"dtype": "int8"}, r"dtype 'int8'"),
        ({"positions": 40}, r"positions=40 is outside sequences of 32 tokens"),
        ({"batch_size": 0}, r"batch_size must be a positive int"),
        ({"max_disk_mb": 1}, r"needs 0.\d\d GiB .* but max_disk_mb=1"),
        ({"max_memory_mb": 1, "batch_size": 16}, r"one batch of 16 sequences holds .* MiB .* lower batch_size"),
        ({"num_workers": 2, "model_kwargs": {"no_such_option": 1}}, r"model 'lenslab/gelu-2l'"),
    ],
)
def test_bad_arguments_fail_in_one_line_before_any_worker(tokens, tmp_path, monkeypatch, kwargs, message):
    _no_workers(monkeypatch)
    out = tmp_path / "h"
    with pytest.raises(HarvestError, match=message) as info:
        run(tokens, out, **{"num_workers": 2, **kwargs})
    assert "\n" not in str(info.value)
    assert not out.exists()  # nothing left behind


@pytest.mark.parametrize(
    "bad_tokens, message",
    [
        (torch.arange(10), r"must be 2-D"),
        (torch.full((2, 8), 5000), r"token ids span \[5000, 5000\] but .* vocabulary is \[0, 4096\)"),
        (torch.zeros((1, 300), dtype=torch.long), r"longer than .* context of 256"),
        (torch.zeros((2, 4)).float(), r"must be integers"),
        ("missing.npy", r"does not exist"),
    ],
)
def test_bad_tokens(tmp_path, monkeypatch, bad_tokens, message):
    _no_workers(monkeypatch)
    with pytest.raises(HarvestError, match=message):
        run(bad_tokens, tmp_path / "h", num_workers=2)
    assert not (tmp_path / "h").exists()


def test_an_output_directory_holding_something_else_is_refused(tokens, tmp_path, monkeypatch):
    out = run(tokens, tmp_path / "h")
    _no_workers(monkeypatch)
    with pytest.raises(HarvestError, match=r"holds another harvest .*differs in: hooks, shapes"):
        run(tokens, out, hooks=HOOKS[:1], num_workers=2)
    with pytest.raises(HarvestError, match=r"differs in: tokens_sha256"):
        run(tokens.flip(0), out, num_workers=2)
    other = tmp_path / "notes"
    other.mkdir()
    (other / "todo.txt").write_text("mine")
    with pytest.raises(HarvestError, match=r"is not empty \(todo.txt\) and holds no harvest manifest"):
        run(tokens, other, num_workers=2)
    assert sorted(p.name for p in other.iterdir()) == ["todo.txt"]


def test_import_lenslab_scale_needs_no_ray():
    import subprocess
    import sys

    code = (
        "import sys, transformer_lens; assert not any(m.startswith('lenslab') for m in sys.modules); "
        "import lenslab, lenslab.scale; assert 'ray' not in sys.modules; print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "ok", result.stderr
