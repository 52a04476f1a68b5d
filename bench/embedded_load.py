"""Load-time benchmark for the embedded models (target: under 1 second each).

Each measurement runs in a fresh interpreter that has already imported
``transformer_lens`` (so the import's own cost, reported separately by
``bench/forward.py``, is not counted) and times
``HookedTransformer.from_pretrained(name)``: reading the files, the checksum,
building the model, weight processing and the tokenizer. It reports the median
of ``--reps`` fresh interpreters per model and, for scale, a bare
``safetensors`` read of the same weights file in the same interpreter.

    python bench/embedded_load.py [--reps 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

PROBE = r"""
import json, sys, time
import torch
torch.set_num_threads(2)
from transformer_lens import HookedTransformer
from transformer_lens.loading import embedded
name = sys.argv[1]
t0 = time.perf_counter()
from safetensors.torch import load_file
load_file(str(embedded.model_dir(name) / "model.safetensors"))
t1 = time.perf_counter()
model = HookedTransformer.from_pretrained(name, device="cpu")
t2 = time.perf_counter()
assert model.cfg.model_name == name
print(json.dumps({"read_file_s": t1 - t0, "from_pretrained_s": t2 - t1}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    from transformer_lens.loading.embedded import EMBEDDED_MODEL_NAMES

    print(f"{'model':<24} {'from_pretrained (median)':>26} {'raw file read':>14}")
    for name in EMBEDDED_MODEL_NAMES:
        runs = []
        for _ in range(args.reps):
            out = subprocess.run(
                [sys.executable, "-c", PROBE, name], capture_output=True, text=True, check=True
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        load = statistics.median(r["from_pretrained_s"] for r in runs)
        read = statistics.median(r["read_file_s"] for r in runs)
        print(f"{name:<24} {load * 1000:>23.0f} ms {read * 1000:>11.0f} ms  (target < 1000 ms)")


if __name__ == "__main__":
    main()
