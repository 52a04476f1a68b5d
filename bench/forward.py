"""Forward-pass benchmark: Hugging Face GPT-2 against HookedTransformer, on the CPU.

The model is GPT-2 small's shape (12 layers, 12 heads, d_model 768, vocab 50257) with random
weights built from GPT2Config, so nothing is downloaded. One run times, under torch.no_grad:
  (a) HF GPT2LMHeadModel forward
  (b) HookedTransformer forward, no hooks
  (c) HookedTransformer.run_with_cache, every hook cached
interleaved a, b, c, a, b, c, ... so machine noise lands on all three alike; it reports medians
and the ratios b/a and c/a. It also measures the cache's memory and `import transformer_lens`
in a fresh interpreter.

    python bench/forward.py [--reps 5] [--batch 8] [--seq 128] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Callable

# No hub access: the model is built locally and handed over as hf_model.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from transformers import GPT2Config, GPT2LMHeadModel  # noqa: E402

from transformer_lens import HookedTransformer  # noqa: E402

from _memory import measure_memory  # noqa: E402 - bench/ is on sys.path when run as a script

MiB = 1024 * 1024


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions of each case (default 5)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed rounds first (default 2)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--import-reps", type=int, default=5)
    return parser.parse_args()


# --- memory (bench/_memory.py reads the kernel's counters) ----------------------------------


def tensor_bytes(tensors) -> int:
    """Bytes of the distinct storages behind tensors (views of one storage count once)."""
    seen: dict[int, int] = {}
    for tensor in tensors:
        storage = tensor.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
    return sum(seen.values())


# --- timing -------------------------------------------------------------------------------


def time_interleaved(cases: dict[str, Callable[[], object]], reps: int, warmup: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in cases}
    for round_index in range(warmup + reps):
        for name, fn in cases.items():
            start = time.perf_counter()
            result = fn()
            elapsed = time.perf_counter() - start
            del result
            if round_index >= warmup:
                times[name].append(elapsed)
    return times


def import_seconds(module: str, reps: int) -> list[float]:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    return [float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                 text=True).stdout) for _ in range(reps)]


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    hf_model = GPT2LMHeadModel(GPT2Config()).eval()  # GPT-2 small's shape, random init
    model = HookedTransformer.from_pretrained("gpt2", hf_model=hf_model, device="cpu")
    tokens = torch.randint(0, hf_model.config.vocab_size, (args.batch, args.seq),
                           generator=torch.Generator().manual_seed(0))

    def hf_forward():
        return hf_model(tokens).logits

    def our_forward():
        return model(tokens)

    def our_run_with_cache():
        return model.run_with_cache(tokens)

    with torch.no_grad():
        # Same function, so the timings compare like with like.
        gap = (hf_forward().log_softmax(-1) - our_forward().log_softmax(-1)).abs().max().item()

        times = time_interleaved(
            {"hf": hf_forward, "ours": our_forward, "cache": our_run_with_cache}, args.reps, args.warmup
        )

        logits, fwd_peak, _ = measure_memory(our_forward)
        logits_mib = tensor_bytes([logits]) / MiB
        del logits
        (cache_logits, cache), cache_peak, cache_held = measure_memory(our_run_with_cache)
        cache_mib = tensor_bytes(cache.values()) / MiB
        n_hooks = len(cache)
        del cache_logits, cache

    tl_import = import_seconds("transformer_lens", args.import_reps)
    torch_import = import_seconds("torch", args.import_reps)

    med = {name: statistics.median(values) for name, values in times.items()}
    print(f"LensLab forward benchmark: torch {torch.__version__}, {args.threads} threads, {cpu_name()}")
    print(f"model: GPT-2 small shape, random weights; input {args.batch} x {args.seq} tokens; "
          f"{args.reps} interleaved reps after {args.warmup} warm-up rounds")
    print(f"max |log-prob difference| ours vs HF: {gap:.2e}")
    print()
    print(f"{'case':<36}{'median ms':>11}{'min ms':>10}{'vs HF':>8}")
    rows = [("(a) HF GPT2LMHeadModel forward", "hf"), ("(b) HookedTransformer forward", "ours"),
            ("(c) run_with_cache, all hooks", "cache")]
    for label, name in rows:
        print(f"{label:<36}{med[name] * 1e3:>11.1f}{min(times[name]) * 1e3:>10.1f}{med[name] / med['hf']:>8.2f}")
    print()
    print(f"ratio b/a (forward overhead):          {med['ours'] / med['hf']:.3f}")
    print(f"ratio c/a (run_with_cache vs HF):      {med['cache'] / med['hf']:.3f}")
    print()

    def mib(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.0f} MiB"

    print(f"cache: {n_hooks} tensors, {cache_mib:.0f} MiB of tensor data; logits {logits_mib:.0f} MiB")
    print(f"RSS growth held after run_with_cache (cache + logits): {mib(cache_held)}"
          + (f" = {cache_held / (cache_mib + logits_mib):.2f} x their tensor bytes" if cache_held else ""))
    print(f"peak RSS growth during forward: {mib(fwd_peak)}; during run_with_cache: {mib(cache_peak)}")
    print()
    print(f"import transformer_lens (fresh interpreter, median of {args.import_reps}): "
          f"{statistics.median(tl_import):.2f} s; import torch alone: {statistics.median(torch_import):.2f} s")


if __name__ == "__main__":
    main()
