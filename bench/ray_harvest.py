"""Harvest throughput: a plain in-process loop against lenslab.scale.harvest on 1 and 2 local Ray workers.

All runs harvest the same tokens (random ids, ``--seqs`` x ``--seq`` tokens, ~100k by default) of the
embedded ``lenslab/gelu-2l`` at the same hooks, in float16, into safetensors shards of the same size.
One run measures, in this order:

  plain      a loop a user would write: load the model, run_with_cache batch by batch, save_file per shard
  here       harvest(num_workers=0): our shard writer and manifest, in this process, no Ray
  ray1 cold  harvest(num_workers=1) with Ray started by the call: ray.init + worker start + model load
  ray1 warm  the same call again into a new directory: Ray and the pooled worker are reused
  ray2 warm  num_workers=2 (both workers started and warmed first)

and prints each time, the ratios to ``plain`` and each Ray worker's peak RSS. Everything runs with one
torch thread per worker (Ray gives each worker 1 CPU; the plain loop gets 1 thread too).

    python bench/ray_harvest.py [--seqs 400] [--seq 256] [--batch 16] [--shard-seqs 80]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

MODEL = "lenslab/gelu-2l"
HOOKS = ["blocks.0.mlp.hook_post", "blocks.1.hook_resid_post"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seqs", type=int, default=400)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--shard-seqs", type=int, default=80, help="sequences per shard (one Ray task each)")
    return parser.parse_args()


def plain_loop(tokens: torch.Tensor, out: Path, batch: int, shard_seqs: int) -> None:
    from safetensors.torch import save_file

    from transformer_lens import HookedTransformer

    model = HookedTransformer.from_pretrained(MODEL)
    out.mkdir(parents=True)
    for index, start in enumerate(range(0, tokens.shape[0], shard_seqs)):
        rows = tokens[start : start + shard_seqs]
        parts: dict[str, list[torch.Tensor]] = {hook: [] for hook in HOOKS}
        with torch.no_grad():
            for offset in range(0, rows.shape[0], batch):
                _, cache = model.run_with_cache(rows[offset : offset + batch], names_filter=HOOKS, return_type=None)
                for hook in HOOKS:
                    parts[hook].append(cache[hook].to(torch.float16))
        tensors = {hook: torch.cat(values) for hook, values in parts.items()}
        tensors["tokens"] = rows.to(torch.int32)
        save_file(tensors, str(out / f"shard-{index:06d}.safetensors"))


def timed(label: str, results: dict[str, float], function, *args, **kwargs) -> None:
    start = time.perf_counter()
    function(*args, **kwargs)
    results[label] = time.perf_counter() - start
    print(f"{label:<22} {results[label]:7.2f} s", flush=True)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    from lenslab.scale import _ray, harvest

    tokens = torch.randint(0, 4096, (args.seqs, args.seq), generator=torch.Generator().manual_seed(0))
    n_tokens = tokens.numel()
    root = Path(tempfile.mkdtemp(prefix="lenslab-ray-bench-"))
    options = dict(hooks=HOOKS, batch_size=args.batch, seqs_per_shard=args.shard_seqs, dtype=torch.float16, progress=False)
    results: dict[str, float] = {}
    print(f"{MODEL}, {args.seqs} x {args.seq} = {n_tokens:,} tokens, hooks {HOOKS}, float16, "
          f"{-(-args.seqs // args.shard_seqs)} shards of {args.shard_seqs} sequences, batch {args.batch}, {os.cpu_count()} CPUs")
    try:
        timed("plain", results, plain_loop, tokens, root / "plain", args.batch, args.shard_seqs)
        timed("here (num_workers=0)", results, harvest, MODEL, tokens, out=root / "here", num_workers=0, **options)
        start = time.perf_counter()
        ray = _ray.connect(None, num_cpus=2)
        results["ray.init"] = time.perf_counter() - start
        print(f"{'ray.init':<22} {results['ray.init']:7.2f} s", flush=True)
        timed("ray1 cold", results, harvest, MODEL, tokens, out=root / "ray1-cold", num_workers=1, **options)
        timed("ray1 warm", results, harvest, MODEL, tokens, out=root / "ray1-warm", num_workers=1, **options)
        actors = _ray.harvest_actors(ray, MODEL, {}, 2, 0)
        ray.get([actor.pid.remote() for actor in actors])  # the second worker is started and loaded
        timed("ray2 warm", results, harvest, MODEL, tokens, out=root / "ray2-warm", num_workers=2, **options)
        rss = ray.get([actor.peak_rss_mb.remote() for actor in actors])
        shard_mb = sum(p.stat().st_size for p in (root / "ray2-warm").glob("shard-*.safetensors")) / 2**20
    finally:
        shutil.rmtree(root, ignore_errors=True)
        _ray.shutdown(ray_too=True)
    plain = results["plain"]
    print(f"\noutput: {shard_mb:.0f} MiB per run; plain loop {n_tokens / plain:,.0f} tokens/s "
          f"({plain / n_tokens * 1e6:.1f} us/token, one CPU thread)")
    print(f"here / plain                  {results['here (num_workers=0)'] / plain:.3f}")
    print(f"ray1 cold / plain             {results['ray1 cold'] / plain:.3f}   (Ray already initialised; worker start + model load included)")
    print(f"ray1 cold + ray.init / plain  {(results['ray1 cold'] + results['ray.init']) / plain:.3f}")
    print(f"ray1 warm / plain             {results['ray1 warm'] / plain:.3f}   (pooled worker reused)")
    print(f"ray2 warm / plain             {results['ray2 warm'] / plain:.3f}   (speed-up {plain / results['ray2 warm']:.2f}x)")
    print(f"peak RSS per Ray worker: {', '.join(f'{r:.0f} MiB' for r in rss)}; "
          f"this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
