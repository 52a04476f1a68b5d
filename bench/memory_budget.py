"""Memory-budget benchmark: estimates against measured memory, in one process, on the CPU.

For the embedded ``lenslab/gelu-2l`` and a random GPT-2-small-shaped model (12 layers, d_model
768, d_mlp 3072, vocab 50257; nothing downloaded) it prints

- ``run_with_cache`` (``return_type=None``, so no logits are kept): the estimate made before the
  forward (``memory_budget.cache_bytes``), the bytes really stored (sum of ``tensor.nbytes``), and
  the peak RSS growth of the call, for every hook, for ``names_filter`` = the residual stream
  only, and for ``pos_slice=-1``;
- a patching sweep (``get_act_patch_attn_head_out_by_pos`` on the embedded model,
  ``get_act_patch_resid_pre`` on the GPT-2 shape) at three ``max_memory_mb`` budgets: forward
  passes, peak RSS growth, and its ratio to the budget.

Peak RSS comes from the kernel (VmHWM after a reset, see _memory.py), so it includes the
forward's own temporaries and the logits, not only what the budget counts.

    python bench/memory_budget.py [--threads 2] [--batch 4] [--pos 128]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch

from transformer_lens import HookedTransformer, HookedTransformerConfig, memory_budget, patching

from _memory import measure_memory  # bench/ is on sys.path when run as a script

MIB = memory_budget.MIB


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=4, help="prompts per run_with_cache")
    parser.add_argument("--pos", type=int, default=128, help="tokens per prompt for run_with_cache")
    parser.add_argument("--sweep-pos", type=int, default=12, help="tokens of the patching prompts")
    return parser.parse_args()


def gpt2_small_random() -> HookedTransformer:
    cfg = HookedTransformerConfig(
        n_layers=12, n_heads=12, d_model=768, d_head=64, d_mlp=3072, d_vocab=50257, n_ctx=1024,
        act_fn="gelu_new", normalization_type="LN", seed=0, device="cpu",
    )
    return HookedTransformer(cfg).eval()


def cache_rows(label: str, model: HookedTransformer, tokens: torch.Tensor) -> None:
    batch, pos = tokens.shape
    cases: dict[str, dict[str, Any]] = {
        "all hooks": {},
        "names_filter=resid_post": {"names_filter": lambda name: name.endswith("hook_resid_post")},
        "pos_slice=-1": {"pos_slice": -1},
    }
    for case, options in cases.items():
        keep = model._names_predicate(options.get("names_filter"))
        names = [name for name in model.hook_dict if keep(name)]
        estimate = memory_budget.cache_bytes(model, names, batch, pos, options.get("pos_slice"))
        with torch.no_grad():
            (_, cache), peak, held = measure_memory(
                lambda: model.run_with_cache(tokens, return_type=None, return_cache_object=False, device="cpu", **options)
            )
        stored = sum(t.nbytes for t in cache.values())
        del cache
        print(
            f"{label:<10} run_with_cache {case:<24} estimate {estimate / MIB:8.1f} MiB  stored {stored / MIB:8.1f} MiB  "
            f"peak RSS +{peak:7.1f} MiB  held +{held:7.1f} MiB  peak/estimate {peak * MIB / max(estimate, 1):5.2f}"
        )


def sweep_rows(label: str, model: HookedTransformer, sweep: Any, pos: int, budgets_mb: list[float]) -> None:
    generator = torch.Generator().manual_seed(0)
    clean = torch.randint(0, model.cfg.d_vocab, (1, pos), generator=generator)
    corrupted = torch.randint(0, model.cfg.d_vocab, (1, pos), generator=generator)

    def metric(logits: torch.Tensor) -> torch.Tensor:
        return logits[:, -1, 0] - logits[:, -1, 1]

    forwards = [0]

    def count(act: torch.Tensor, hook: Any) -> None:
        forwards[0] += 1

    with torch.no_grad():
        _, clean_cache = model.run_with_cache(clean)
    handles = model.add_perma_hook(f"blocks.{model.cfg.n_layers - 1}.hook_resid_post", count)
    results = []
    try:
        for budget in budgets_mb:
            forwards[0] = 0
            start = time.perf_counter()
            with torch.no_grad():
                result, peak, _ = measure_memory(
                    lambda: sweep(model, corrupted, clean_cache, metric, progress=False, max_memory_mb=budget)
                )
            results.append(result)
            print(
                f"{label:<10} {sweep.__name__:<36} max_memory_mb {budget:6.0f}  forwards {forwards[0]:4d}  "
                f"peak RSS +{peak:7.1f} MiB  peak/budget {peak / budget:5.2f}  {time.perf_counter() - start:6.1f} s"
            )
    finally:
        for handle in handles:
            handle.remove()
    spread = max((r - results[0]).abs().max().item() for r in results)
    print(f"{label:<10} largest difference between the budgets' results: {spread:.2e}")


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    embedded = HookedTransformer.from_pretrained("lenslab/gelu-2l", device="cpu").eval()
    gpt2 = gpt2_small_random()
    for label, model in (("gelu-2l", embedded), ("gpt2-shape", gpt2)):
        pos = min(args.pos, model.cfg.n_ctx)
        tokens = torch.randint(0, model.cfg.d_vocab, (args.batch, pos), generator=torch.Generator().manual_seed(1))
        cache_rows(label, model, tokens)
    sweep_rows("gelu-2l", embedded, patching.get_act_patch_attn_head_out_by_pos, args.sweep_pos, [1, 4, 16])
    sweep_rows("gpt2-shape", gpt2, patching.get_act_patch_resid_pre, args.sweep_pos, [16, 64, 256])


if __name__ == "__main__":
    main()
