#!/usr/bin/env bash
# GPU check for issue 16 (run whenever a CUDA machine is at hand): loads a ~1B random LLaMA-shaped
# checkpoint in bfloat16 onto the GPU with our from_pretrained and with Hugging Face's (peak CUDA
# memory of each, fresh process each), checks forward parity against HF on the GPU (float32, TF32
# off), and times the head-patching sweep. Prints one table. Without a GPU: one line, exit 0.
#   scripts/gpu-check.sh [CACHE_DIR]   (default /tmp/lenslab-bench; the checkpoint is built once)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python}"
export PYTHONPATH="$PWD/py_src${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1
if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    echo "gpu-check: no CUDA GPU visible; skipped"
    exit 0
fi
exec "$PYTHON" - "${1:-/tmp/lenslab-bench}" <<'PY'
import json, subprocess, sys, time
from pathlib import Path

sys.path.insert(0, "bench")
import load_memory  # builds the 1B checkpoint (Llama-3.2-1B's shape, bf16, 2 GiB shards)

directory = load_memory.checkpoint_dir(Path(sys.argv[1]), "llama-1b")
LOAD = r"""
import json, sys, time, torch, transformers
from transformer_lens import HookedTransformer
torch.cuda.reset_peak_memory_stats()
start = time.perf_counter()
if sys.argv[2] == "hf":
    model = transformers.AutoModelForCausalLM.from_pretrained(sys.argv[1], dtype=torch.bfloat16, device_map="cuda")
else:
    model = HookedTransformer.from_pretrained(sys.argv[1], device="cuda", dtype=torch.bfloat16)
torch.cuda.synchronize()
seconds = time.perf_counter() - start
params = sum(p.numel() * p.element_size() for p in model.parameters())
print(json.dumps({"seconds": seconds, "peak": torch.cuda.max_memory_allocated(), "params": params}))
"""
rows = []
for loader in ("hf", "ours"):
    out = subprocess.run([sys.executable, "-c", LOAD, str(directory), loader], capture_output=True, text=True, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    rows.append((f"load bf16 -> cuda ({loader})", f"peak {r['peak'] / 2**20:,.0f} MiB for {r['params'] / 2**20:,.0f} MiB of params", f"{r['seconds']:.1f} s"))

import torch, transformers
from transformer_lens import HookedTransformer, patching
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
tokens = torch.randint(0, 128000, (2, 24), generator=torch.Generator().manual_seed(0)).cuda()
hf = transformers.AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32, device_map="cuda", attn_implementation="eager").eval()
with torch.no_grad():
    expected = hf(tokens).logits.log_softmax(-1)
del hf
torch.cuda.empty_cache()
ours = HookedTransformer.from_pretrained(str(directory), device="cuda", dtype=torch.float32)
with torch.no_grad():
    error = (ours(tokens).log_softmax(-1) - expected).abs().max().item()
rows.append(("forward parity vs HF (fp32, processed)", f"max |log-prob diff| {error:.2e}", "ok" if error < 1e-3 else "FAIL"))
del ours
torch.cuda.empty_cache()

model = HookedTransformer.from_pretrained(str(directory), device="cuda", dtype=torch.bfloat16)
clean, corrupted = tokens[:1, :16], tokens[1:, :16]
_, cache = model.run_with_cache(clean)
answer = int(clean[0, -1])
metric = lambda logits: logits[0, -1, answer].float()  # noqa: E731
torch.cuda.synchronize()
start = time.perf_counter()
result = patching.get_act_patch_attn_head_out_all_pos(model, corrupted, cache, metric)
torch.cuda.synchronize()
rows.append((f"head-patching sweep ({model.cfg.n_layers}x{model.cfg.n_heads} heads, pos 16)", f"result {tuple(result.shape)}", f"{time.perf_counter() - start:.2f} s"))

print(f"gpu-check on {torch.cuda.get_device_name()}")
width = max(len(r[0]) for r in rows)
for name, what, value in rows:
    print(f"{name:<{width}} | {what} | {value}")
sys.exit(0 if error < 1e-3 else 1)
PY
