"""Peak memory and wall time of loading: our ``from_pretrained`` against Hugging Face's.

Two random-weight checkpoints, built once under ``/tmp/lenslab-bench`` (or ``--cache``):

* ``gpt2-124m``: ``GPT2Config()`` defaults (124M parameters), float32, one safetensors file;
* ``llama-1b``: Llama-3.2-1B's shape (1.24B parameters, tied embeddings), bfloat16, in 2 GiB
  shards with a ``model.safetensors.index.json``, as the hub stores it.

Each measurement runs in a fresh interpreter that first imports torch, transformers and
transformer_lens, then loads once. Its peak RSS is ``getrusage(RUSAGE_SELF).ru_maxrss``; the
figure reported is that peak minus the RSS after the imports (what loading itself added).
Hugging Face maps the files and reads a weight only when it is first used, so a second HF row
also touches every page of every weight after loading: what using the model would cost.
The target (issue 16) is a peak of at most 1.2x the final parameter bytes plus the largest
shard, with weight processing on, and a load time at most 1.3x Hugging Face's. The loaders run
interleaved (HF, HF + read, ours, ours unprocessed, then again), ``--reps`` rounds (default 3),
and each figure is the median.

    python bench/load_memory.py [--cache DIR] [--only gpt2-124m|llama-1b] [--reps N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

PROBE = r"""
import json, os, resource, sys, time
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch
torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
import transformers
from transformer_lens import HookedTransformer
sys.path.insert(0, sys.argv[4])
from _memory import status_kib

directory, loader, dtype = sys.argv[1], sys.argv[2], getattr(torch, sys.argv[3])
base_kib = status_kib("VmRSS")
cpu_start = resource.getrusage(resource.RUSAGE_SELF)
start = time.perf_counter()
if loader.startswith("hf"):
    model = transformers.AutoModelForCausalLM.from_pretrained(directory, dtype=dtype)
    if loader == "hf-read":  # HF maps the files and reads a weight when first used: touch every page
        for p in model.parameters():
            p.detach().reshape(-1)[:: max(1, 4096 // p.element_size())].float().sum()
elif loader == "ours":
    model = HookedTransformer.from_pretrained(directory, device="cpu", dtype=dtype)
else:
    model = HookedTransformer.from_pretrained_no_processing(directory, device="cpu", dtype=dtype)
seconds = time.perf_counter() - start
cpu_end = resource.getrusage(resource.RUSAGE_SELF)
cpu_seconds = (cpu_end.ru_utime + cpu_end.ru_stime) - (cpu_start.ru_utime + cpu_start.ru_stime)
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_mib": (peak_kib - base_kib) / 1024, "base_mib": base_kib / 1024,
                  "param_mib": param_bytes / 2**20}))
"""

LOADERS = {
    "hf": "Hugging Face AutoModelForCausalLM",
    "hf-read": "Hugging Face, then every weight page read",
    "ours": "ours, weight processing on", "ours-raw": "ours, no processing",
}


def build_gpt2(directory: Path) -> None:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config()).save_pretrained(directory)


def build_llama_1b(directory: Path) -> None:
    """Llama-3.2-1B's shape, random bf16, written shard by shard (never the whole model in memory)."""
    import torch
    from safetensors.torch import save_file
    from transformers import LlamaConfig

    config = LlamaConfig(
        vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
        num_key_value_heads=8, head_dim=64, max_position_embeddings=131072, rms_norm_eps=1e-5, tie_word_embeddings=True,
        rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
        architectures=["LlamaForCausalLM"], dtype="bfloat16",
    )
    d, f, kv = config.hidden_size, config.intermediate_size, config.num_key_value_heads * config.head_dim
    shapes = {"model.embed_tokens.weight": (config.vocab_size, d)}
    for layer in range(config.num_hidden_layers):
        p = f"model.layers.{layer}."
        shapes.update({
            p + "input_layernorm.weight": (d,), p + "post_attention_layernorm.weight": (d,),
            p + "self_attn.q_proj.weight": (d, d), p + "self_attn.k_proj.weight": (kv, d),
            p + "self_attn.v_proj.weight": (kv, d), p + "self_attn.o_proj.weight": (d, d),
            p + "mlp.gate_proj.weight": (f, d), p + "mlp.up_proj.weight": (f, d), p + "mlp.down_proj.weight": (d, f),
        })
    shapes["model.norm.weight"] = (d,)
    limit = 2 * 2**30  # the hub's max_shard_size for Llama-3.2-1B-sized uploads
    shards: list[list[str]] = [[]]
    size = 0
    for name, shape in shapes.items():
        nbytes = 2 * torch.Size(shape).numel()
        if shards[-1] and size + nbytes > limit:
            shards.append([])
            size = 0
        shards[-1].append(name)
        size += nbytes
    generator = torch.Generator().manual_seed(0)
    weight_map = {}
    for index, names in enumerate(shards, start=1):
        file = f"model-{index:05d}-of-{len(shards):05d}.safetensors"
        tensors = {}
        for name in names:
            if name.endswith("norm.weight"):
                tensors[name] = (1 + 0.1 * torch.randn(shapes[name], generator=generator)).to(torch.bfloat16)
            else:
                tensors[name] = (0.02 * torch.randn(shapes[name], generator=generator)).to(torch.bfloat16)
            weight_map[name] = file
        save_file(tensors, str(directory / file), metadata={"format": "pt"})
        del tensors
    total = sum(2 * torch.Size(s).numel() for s in shapes.values())
    (directory / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}))
    config.save_pretrained(directory)


CHECKPOINTS = {"gpt2-124m": (build_gpt2, "float32"), "llama-1b": (build_llama_1b, "bfloat16")}


def checkpoint_dir(cache: Path, name: str) -> Path:
    directory = cache / name
    if not (directory / "config.json").is_file():
        directory.mkdir(parents=True, exist_ok=True)
        print(f"building {name} under {directory} (once)...", flush=True)
        subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(HERE)!r}); import load_memory as m; "
                        f"from pathlib import Path; m.CHECKPOINTS[{name!r}][0](Path({str(directory)!r}))"], check=True)
    return directory


def measure(directory: Path, loader: str, dtype: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, str(directory), loader, dtype, str(HERE)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{loader} on {directory} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/lenslab-bench"))
    parser.add_argument("--only", choices=sorted(CHECKPOINTS))
    parser.add_argument("--reps", type=int, default=3, help="fresh processes per case; the median is shown")
    args = parser.parse_args()
    rows = []
    for name, (_, dtype) in CHECKPOINTS.items():
        if args.only and name != args.only:
            continue
        directory = checkpoint_dir(args.cache, name)
        shard_mib = max(f.stat().st_size for f in directory.glob("*.safetensors")) / 2**20
        runs: dict[str, list[dict]] = {loader: [] for loader in LOADERS}
        for _ in range(args.reps):  # interleaved, so machine noise lands on every loader alike
            for loader in LOADERS:
                runs[loader].append(measure(directory, loader, dtype))
        results = {loader: {key: statistics.median(r[key] for r in rs) for key in rs[0]} for loader, rs in runs.items()}
        hf = results["hf"]
        for loader, label in LOADERS.items():
            r = results[loader]
            budget = 1.2 * r["param_mib"] + shard_mib
            rows.append((name, dtype, label, r["peak_mib"], r["param_mib"], shard_mib, budget, r["seconds"],
                         r["peak_mib"] / hf["peak_mib"], r["seconds"] / hf["seconds"], r["cpu_seconds"] / hf["cpu_seconds"]))
    header = ("checkpoint", "dtype", "loader", "peak MiB", "params MiB", "shard MiB", "target MiB", "time s", "peak/HF", "time/HF",
              "CPU time/HF")
    print(" | ".join(header))
    for row in rows:
        name, dtype, label, peak, params, shard, budget, seconds, peak_ratio, time_ratio, cpu_ratio = row
        print(f"{name} | {dtype} | {label} | {peak:,.0f} | {params:,.0f} | {shard:,.0f} | {budget:,.0f} | {seconds:.2f} | "
              f"{peak_ratio:.2f}x | {time_ratio:.2f}x | {cpu_ratio:.2f}x")
    print("peak = ru_maxrss minus RSS after imports, fresh process per case; target = 1.2 x params + largest shard "
          "(ours, processing on); time target 1.3x HF. HF memory-maps the files, so its load reads no weight until "
          "used: the 'every weight page read' row shows that cost. Loaders interleaved, median of --reps rounds. On a "
          "virtual machine that hands free memory back to its host, the first write to fresh memory is slow and varies, "
          "so a loader that writes new weights (ours, processing on) varies more than one that maps files; CPU time "
          "(user + system, all threads) is the steadier comparison.")


if __name__ == "__main__":
    main()
