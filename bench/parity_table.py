"""Largest log-probability difference from Hugging Face, per model family (README's family table).

Builds the same tiny random checkpoints as the parity tests (their family lists are imported from
``tests/parity/``, so the table and the tests can never describe different models), loads each
with and without weight processing, and prints max |log p_ours - log p_HF| over a 3 x 11 batch
in float32. The tests assert each figure is below 1e-4; this prints the figures themselves.

    python bench/parity_table.py [--markdown]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "tests"))

import decoder_parity as dp  # noqa: E402  (tests/support)


def _test_module(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"parity_{name}", ROOT / "tests" / "parity" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build_gpt2(directory: Path) -> Any:
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=dp.VOCAB, n_embd=32, n_head=4, n_layer=2, n_positions=64, bos_token_id=0, eos_token_id=0)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(config)
    dp.randomise_(model, seed=4)
    model.save_pretrained(directory)
    return GPT2LMHeadModel.from_pretrained(directory, attn_implementation="eager").eval()


def builders() -> dict[str, Callable[[Path], Any]]:
    """Family label -> a function that writes its checkpoint to a directory and returns HF's model."""
    found: dict[str, Callable[[Path], Any]] = {}
    for file in ("test_decoder_families", "test_moe_families", "test_alibi_mqa_postln_families"):
        module = _test_module(file)
        for label, (prefix, kwargs) in module.FAMILIES.items():
            found[label] = lambda directory, p=prefix, k=kwargs, s=len(label): dp.build_checkpoint(p, k, directory, seed=s)
    # GPT-2 itself (tests/parity/test_gpt2.py builds its checkpoints inline): a small one of the same kind.
    found["gpt2"] = _build_gpt2
    dense = _test_module("test_dense_families")
    for label in dense.FAMILIES:
        found[label] = lambda directory, n=label: dense._build(n, directory)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = parser.parse_args()
    torch.set_num_threads(1)
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    rows = []
    for label, build in sorted(builders().items()):
        with tempfile.TemporaryDirectory() as directory:
            reference = build(Path(directory))
            errors = [dp.max_log_prob_error(dp.load(Path(directory), processed=p), reference) for p in (True, False)]
        rows.append((label, type(reference).__name__, *errors))
        if not args.markdown:
            print(f"{label:22s} {rows[-1][1]:28s} processed {errors[0]:.1e}  unprocessed {errors[1]:.1e}", flush=True)
    if args.markdown:
        print("| family (test checkpoint) | Hugging Face class | max abs diff, processed | unprocessed |")
        print("|---|---|---|---|")
        for label, cls, processed, unprocessed in rows:
            print(f"| {label} | `{cls}` | {processed:.1e} | {unprocessed:.1e} |")
    print(f"largest: {max(max(r[2], r[3]) for r in rows):.1e} over {len(rows)} checkpoints", flush=True)


if __name__ == "__main__":
    main()
