"""Train the embedded tiny models with our own HookedTransformer.

Run ``python -m tools.train_tiny`` (from the repository root) to rebuild the shipped
tokenizer and both models into ``py_src/transformer_lens/pretrained/embedded/`` (about 30 minutes on 2
CPU cores). Everything is seeded; on the same machine, thread count and
library versions a rerun gives the same files. The corpus is the running
interpreter's stdlib (see :mod:`corpus`), so another Python version gives a
slightly different, equally valid, model.

Each step sees two batches, every row starting with ``<|endoftext|>`` (BOS):
``natural_rows`` windows of stdlib text and ``synthetic_rows`` rows made of a
random-token span repeated to fill the context (the first copy is masked out
of the loss: random tokens cannot be predicted). Natural text alone is far too
little data for induction heads on 2 CPU cores; the synthetic rows make them
form.

Two auxiliary attention losses steer *which* circuit forms; both weigh 1
during the warm-up phase and fade linearly to 0 over the first half of the
main phase, so the final model is shaped by the language-modelling loss
alone:

- ``previous_token_attention_loss`` pulls every layer-0 head towards the
  previous token, seeding the previous-token heads induction composes with;
- ``induction_attention_loss`` pulls the layer-1 heads' *mean* attention on
  the synthetic rows towards the classic induction key (the token after the
  query token's earlier copy). Without it, runs on this budget settled on a
  shifted circuit that predicts repeats as well but attends one key later,
  which the standard induction score does not see.

The model card (``docs/model-card.md``) states all of this.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from tokenizers import Tokenizer
from tqdm import tqdm

from transformer_lens import HookedTransformer, HookedTransformerConfig
from transformer_lens.loading import embedded
from tools.train_tiny import bpe, corpus

SPAN_RANGE = (3, 100)
"""Inclusive range of main-phase synthetic span lengths, drawn log-uniformly."""
SHORT_SPAN_RANGE = (4, 32)
"""Span lengths of the warm-up phase's short rows."""
INDUCTION_SPAN = 50
"""Span length for the reported induction scores (the tests use the same)."""


@dataclass(frozen=True)
class TinySpec:
    """Architecture of one embedded model (d_model 256, n_ctx 256, 2 layers)."""

    name: str
    attn_only: bool
    seed: int
    n_layers: int = 2
    d_model: int = 256
    n_heads: int = 8
    d_mlp: int = 1024
    n_ctx: int = 256

    def config_kwargs(self, d_vocab: int) -> dict[str, Any]:
        """Keyword arguments for ``HookedTransformerConfig``."""
        kwargs: dict[str, Any] = dict(
            model_name=self.name,
            original_architecture="LensLabTiny",
            n_layers=self.n_layers,
            d_model=self.d_model,
            n_ctx=self.n_ctx,
            d_head=self.d_model // self.n_heads,
            n_heads=self.n_heads,
            d_vocab=d_vocab,
            act_fn="gelu",
            attn_only=self.attn_only,
            normalization_type="LN",
            positional_embedding_type="standard",
            tokenizer_name=None,
            default_prepend_bos=True,
            seed=self.seed,
        )
        if not self.attn_only:
            kwargs["d_mlp"] = self.d_mlp
        return kwargs


SPECS = (
    TinySpec(name="lenslab/attn-only-2l", attn_only=True, seed=101),
    TinySpec(name="lenslab/gelu-2l", attn_only=False, seed=202),
)


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings shared by both models.

    Training has two phases. Warm-up (``warmup_phase_steps``): only short
    synthetic rows plus the two auxiliary attention losses, so layer-0
    previous-token heads and layer-1 induction heads form while the copying
    signal is strong. Main phase: natural text and full-length synthetic rows;
    the auxiliary weight decays linearly to 0 over the first half of it.
    """

    steps: int = 2500
    warmup_phase_steps: int = 400
    natural_rows: int = 8
    """Rows of natural text per main-phase step, each ``n_ctx`` tokens."""
    synthetic_rows: int = 8
    """Rows of repeated random spans per main-phase step, each ``n_ctx`` tokens."""
    short_rows: int = 32
    """Rows of repeated random spans per warm-up step, each ``short_len`` tokens."""
    short_len: int = 65
    aux_weight: float = 1.0
    lr: float = 2e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 50
    weight_decay: float = 0.05
    betas: tuple[float, float] = (0.9, 0.98)
    grad_clip: float = 1.0
    log_every: int = 100
    eval_windows: int = 16
    threads: int = 2
    data_seed: int = 0

    def probe_weight(self, step: int) -> float:
        """Weight of both auxiliary attention losses at ``step``."""
        if step < self.warmup_phase_steps:
            return self.aux_weight
        fade = (self.steps - self.warmup_phase_steps) / 2
        return self.aux_weight * max(0.0, 1 - (step - self.warmup_phase_steps) / fade)


def tokenize_files(tokenizer: Tokenizer, files: list[Path]) -> torch.Tensor:
    """Concatenate the files' tokens, each file preceded by ``<|endoftext|>``."""
    eot = tokenizer.token_to_id(bpe.ENDOFTEXT)
    ids: list[int] = []
    for encoding in tokenizer.encode_batch(list(corpus.read_texts(files))):
        ids.append(eot)
        ids.extend(encoding.ids)
    return torch.tensor(ids, dtype=torch.int64)


def windows(stream: torch.Tensor, n_ctx: int, bos: int, count: int) -> torch.Tensor:
    """Cut ``count`` evenly spaced non-overlapping BOS-prefixed windows from ``stream``."""
    body = n_ctx - 1
    total = (len(stream) - 1) // body
    picks = torch.linspace(0, total - 1, min(count, total)).round().long()
    rows = [stream[i * body : (i + 1) * body] for i in picks.tolist()]
    out = torch.stack(rows)
    return torch.cat([torch.full((len(out), 1), bos), out], dim=1)


def repeated_random_tokens(
    gen: torch.Generator, batch: int, span: int, n_ctx: int, d_vocab: int, bos: int
) -> torch.Tensor:
    """BOS, then a random span (ids 1..d_vocab-1) repeated, cut to ``n_ctx``."""
    copies = math.ceil((n_ctx - 1) / span)
    spans = torch.randint(1, d_vocab, (batch, span), generator=gen)
    body = spans.repeat(1, copies)[:, : n_ctx - 1]
    return torch.cat([torch.full((batch, 1), bos), body], dim=1)


def sample_span(gen: torch.Generator, span_range: tuple[int, int]) -> int:
    """One span length, log-uniform over the inclusive ``span_range``."""
    low, high = math.log(span_range[0]), math.log(span_range[1] + 1)
    u = float(torch.rand((), generator=gen))
    return min(span_range[1], int(math.exp(low + u * (high - low))))


class BatchSampler:
    """Seeded batches of natural windows and of repeated random spans."""

    def __init__(self, stream: torch.Tensor, n_ctx: int, d_vocab: int, seed: int):
        self.stream = stream
        self.n_ctx = n_ctx
        self.d_vocab = d_vocab
        self.gen = torch.Generator().manual_seed(seed)

    def natural(self, rows: int) -> torch.Tensor:
        """``[rows, n_ctx]`` BOS-prefixed windows at random offsets."""
        body = self.n_ctx - 1
        starts = torch.randint(0, len(self.stream) - body, (rows,), generator=self.gen)
        windows = self.stream[starts[:, None] + torch.arange(body)]
        return torch.cat([torch.zeros(rows, 1, dtype=torch.int64), windows], dim=1)

    def synthetic(
        self, rows: int, length: int, span_range: tuple[int, int]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Repeated spans: ``tokens [rows, length]``, loss ``mask [rows, length - 1]``
        (first copy off) and ``induction_key [rows, length]``: for each query in a
        later copy, the key right after the query token's previous occurrence
        (-1 where there is none)."""
        tokens, masks, keys = [], [], []
        for _ in range(rows):
            span = sample_span(self.gen, span_range)
            tokens.append(repeated_random_tokens(self.gen, 1, span, length, self.d_vocab, 0))
            mask = torch.ones(length - 1)
            # Index t predicts token t + 1; tokens 1..span + 1 cannot be predicted.
            mask[: span + 1] = 0.0
            masks.append(mask)
            query = torch.arange(length)
            keys.append(torch.where(query > span, query - span + 1, -1))
        return torch.cat(tokens), torch.stack(masks), torch.stack(keys)


def previous_token_attention_loss(pattern: torch.Tensor) -> torch.Tensor:
    """Auxiliary loss: mean ``-log`` attention from each position to the previous one.

    Applied to every layer-0 head (``pattern [batch, head_index, query, key]``)
    early in training, it seeds previous-token heads and keeps layer 0 from
    offering other offsets, so layer-1 heads compose with them into classic
    induction heads through the language-modelling loss alone. Its weight then
    fades to 0 and layer 0 is free to specialise.
    """
    to_previous = pattern.diagonal(offset=-1, dim1=-2, dim2=-1)  # [batch, head_index, pos - 1]
    return -(to_previous + 1e-6).log().mean()


def induction_attention_loss(pattern: torch.Tensor, induction_key: torch.Tensor) -> torch.Tensor:
    """Auxiliary loss: ``-log`` of the layer-1 heads' mean attention to the induction key.

    ``pattern [batch, head_index, query, key]``; ``induction_key [batch, query]``
    from :meth:`BatchSampler.synthetic`. Taking the log of the *mean* over heads
    lets whichever heads are closest take the job rather than forcing all of
    them. Without it, 2-layer models on this budget often settle on a shifted
    circuit (query's previous token matched against an older token, copying
    from one key later) which predicts the repeat just as well but is not the
    classic induction head that tutorials and scores look for.
    """
    valid = induction_key >= 0
    mean_pattern = pattern.mean(dim=1)  # [batch, query, key]
    to_key = mean_pattern.gather(-1, induction_key.clamp(min=0)[..., None])[..., 0]
    return -(to_key[valid] + 1e-6).log().mean()


def masked_loss(logits: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy over positions where ``mask`` is 1."""
    per_token = F.cross_entropy(
        logits[:, :-1].flatten(0, 1), tokens[:, 1:].flatten(), reduction="none"
    ).view_as(mask)
    return (per_token * mask).sum() / mask.sum()


def sinusoidal_positions(n_ctx: int, d_model: int, scale: float) -> torch.Tensor:
    """Sine/cosine position table with each row's norm ``scale * sqrt(d_model)``."""
    pos = torch.arange(n_ctx, dtype=torch.float32)[:, None]
    freqs = torch.exp(-math.log(10000.0) * torch.arange(0, d_model, 2) / d_model)
    table = torch.zeros(n_ctx, d_model)
    table[:, 0::2] = torch.sin(pos * freqs)
    table[:, 1::2] = torch.cos(pos * freqs)
    return table * scale * math.sqrt(2.0)


def tie_unembed(model: HookedTransformer) -> None:
    """Make ``unembed.W_U`` the live transpose of ``embed.W_E`` (call every step)."""
    if "W_U" in model.unembed._parameters:
        del model.unembed._parameters["W_U"]
    model.unembed.W_U = model.embed.W_E.T


def lr_at(step: int, settings: TrainSettings) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_ratio`` of the peak."""
    if step < settings.warmup_steps:
        return settings.lr * (step + 1) / settings.warmup_steps
    progress = (step - settings.warmup_steps) / max(1, settings.steps - settings.warmup_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * progress))
    return settings.lr * (settings.min_lr_ratio + (1 - settings.min_lr_ratio) * cosine)


@torch.no_grad()
def evaluate(model: HookedTransformer, tokens: torch.Tensor) -> float:
    """Mean next-token loss on BOS-prefixed windows, skipping the BOS prediction."""
    logits = model(tokens, return_type="logits")
    return masked_loss(logits, tokens, torch.ones(tokens.shape[0], tokens.shape[1] - 1)).item()


@torch.no_grad()
def induction_report(model: HookedTransformer, d_vocab: int, seed: int = 0) -> dict[str, Any]:
    """Per-head induction scores and first/second-copy losses on repeated spans."""
    gen = torch.Generator().manual_seed(seed)
    span = INDUCTION_SPAN
    tokens = repeated_random_tokens(gen, 8, span, 2 * span + 1, d_vocab, 0)
    logits, cache = model.run_with_cache(tokens, return_type="logits")
    per_token = F.cross_entropy(
        logits[:, :-1].flatten(0, 1), tokens[:, 1:].flatten(), reduction="none"
    ).view(tokens.shape[0], -1)
    scores = []
    for layer in range(model.cfg.n_layers):
        pattern = cache[f"blocks.{layer}.attn.hook_pattern"]  # [batch, head, q, k]
        # Query q (second copy: span+1..2*span) attends to key q - span + 1.
        stripe = pattern.diagonal(offset=1 - span, dim1=-2, dim2=-1)[..., 2:]
        scores.append([round(v, 4) for v in stripe.mean(dim=(0, 2)).tolist()])
    return {
        "span": span,
        "scores": scores,
        # Index t predicts token t + 1: the first copy is tokens 1..span, and the
        # second copy's first token (span + 1) cannot be predicted either.
        "first_copy_loss": round(per_token[:, :span].mean().item(), 4),
        "second_copy_loss": round(per_token[:, span + 1 :].mean().item(), 4),
    }


def unigram_loss(train: torch.Tensor, targets: torch.Tensor, d_vocab: int) -> float:
    """Cross-entropy of ``targets`` under add-one-smoothed training unigram counts."""
    counts = torch.bincount(train, minlength=d_vocab).double() + 1
    log_probs = (counts / counts.sum()).log()
    return -log_probs[targets].mean().item()


@contextlib.contextmanager
def reproducible_torch(threads: int) -> Iterator[None]:
    """Fixed thread count and deterministic kernels, restored afterwards.

    With 2 threads some CPU kernels sum in a varying order; the last-bit differences grew into
    visibly different heads within a few hundred steps. Deterministic algorithms cost nothing
    measurable here (120 steps: 38.7 s against 37.9 s).
    """
    old_threads, old_deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_deterministic)


def train_one(
    spec: TinySpec,
    settings: TrainSettings,
    train_stream: torch.Tensor,
    eval_tokens: torch.Tensor,
    d_vocab: int,
) -> tuple[HookedTransformer, list[dict[str, float]]]:
    """Train one model; return it and its loss log (every ``log_every`` steps).

    Bit-for-bit reproducible for the same inputs, settings, machine and library versions.
    """
    with reproducible_torch(settings.threads):
        torch.manual_seed(spec.seed)
        cfg = HookedTransformerConfig(**{**spec.config_kwargs(d_vocab), "device": "cpu"})
        model = HookedTransformer(cfg)
        with torch.no_grad():
            # A smooth position code (still trained) lets a previous-token head, and
            # so induction, form within the CPU budget.
            model.pos_embed.W_pos.copy_(sinusoidal_positions(cfg.n_ctx, cfg.d_model, cfg.initializer_range))
        tie_unembed(model)
        named = dict(model.named_parameters())
        decay = [p for n, p in named.items() if n.rsplit(".", 1)[-1].startswith("W_")]
        no_decay = [p for n, p in named.items() if not n.rsplit(".", 1)[-1].startswith("W_")]
        optimizer = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": settings.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=settings.lr,
            betas=settings.betas,
        )
        pattern0: dict[str, torch.Tensor] = {}
        hook_point = model.blocks[0].attn.hook_pattern
        pattern1: dict[str, torch.Tensor] = {}
        induction_hook_point = model.blocks[-1].attn.hook_pattern
        sampler = BatchSampler(train_stream, spec.n_ctx, d_vocab, settings.data_seed)
        log: list[dict[str, float]] = []
        sums = {"natural": 0.0, "synthetic": 0.0, "probe": 0.0, "seed": 0.0}
        start = time.perf_counter()
        bar = tqdm(range(settings.steps), desc=spec.name, unit="step")
        for step in bar:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, settings)
            tie_unembed(model)
            aux_weight = settings.probe_weight(step)
            handles = [hook_point.add_hook(lambda act, hook: pattern0.__setitem__("p", act))]
            if aux_weight > 0:
                handles.append(induction_hook_point.add_hook(lambda act, hook: pattern1.__setitem__("p", act)))
            if step < settings.warmup_phase_steps:
                synthetic, mask, induction_key = sampler.synthetic(
                    settings.short_rows, settings.short_len, SHORT_SPAN_RANGE
                )
                natural_loss = torch.zeros(())
            else:
                natural = sampler.natural(settings.natural_rows)
                natural_loss = masked_loss(model(natural), natural, torch.ones(natural.shape[0], natural.shape[1] - 1))
                pattern0.clear()  # the probe only reads the synthetic rows' patterns
                synthetic, mask, induction_key = sampler.synthetic(settings.synthetic_rows, spec.n_ctx, SPAN_RANGE)
            synthetic_loss = masked_loss(model(synthetic), synthetic, mask)
            for handle in handles:
                handle.remove()
            probe_loss = previous_token_attention_loss(pattern0["p"])
            loss = natural_loss + synthetic_loss + aux_weight * probe_loss
            if aux_weight > 0:
                seed_loss = induction_attention_loss(pattern1.pop("p"), induction_key)
                loss = loss + aux_weight * seed_loss
                sums["seed"] += seed_loss.item()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
            optimizer.step()
            sums["natural"] += natural_loss.item()
            sums["synthetic"] += synthetic_loss.item()
            sums["probe"] += probe_loss.item()
            if (step + 1) % settings.log_every == 0 or step + 1 == settings.steps:
                seen = (step % settings.log_every) + 1
                entry = {
                    "step": step + 1,
                    "train_loss": round(sums["natural"] / seen, 4),
                    "repeat_loss": round(sums["synthetic"] / seen, 4),
                    "probe_loss": round(sums["probe"] / seen, 4),
                    "seed_loss": round(sums["seed"] / seen, 4),
                    "heldout_loss": round(evaluate(model, eval_tokens), 4),
                    "induction_max": max(max(induction_report(model, d_vocab)["scores"][-1]), 0.0),
                    "seconds": round(time.perf_counter() - start, 1),
                }
                log.append(entry)
                sums = dict.fromkeys(sums, 0.0)
                bar.set_postfix(
                    train=entry["train_loss"], repeat=entry["repeat_loss"], induction=entry["induction_max"]
                )
        tie_unembed(model)
        return model, log


def export(model: HookedTransformer, out_dir: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Write ``model.safetensors`` (float16, tied W_U dropped) and ``config.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    params = {
        name: param.detach().to(torch.float16).contiguous()
        for name, param in model.named_parameters()
    }
    weights_path = out_dir / "model.safetensors"
    save_file(params, str(weights_path), metadata={"format": "pt"})
    data = weights_path.read_bytes()
    record["weights"] = {
        "file": weights_path.name,
        "dtype": "float16",
        "tied_embeddings": True,
        "n_params": sum(p.numel() for p in params.values()),
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    (out_dir / "config.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return record


def _heldout_windows_and_unigram(tokenizer: Tokenizer) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Train stream, 64 held-out evaluation windows and their unigram baseline loss."""
    d_vocab = tokenizer.get_vocab_size()
    train_stream = tokenize_files(tokenizer, corpus.corpus_files("train"))
    heldout_stream = tokenize_files(tokenizer, corpus.corpus_files("heldout"))
    eval_windows = windows(heldout_stream, SPECS[0].n_ctx, 0, 64)
    return train_stream, eval_windows, unigram_loss(train_stream, eval_windows[:, 1:].flatten(), d_vocab)


@torch.no_grad()
def previous_token_scores(model: HookedTransformer, d_vocab: int, seed: int = 0) -> list[list[float]]:
    """Per-head mean attention to the previous position, on the same repeated random tokens."""
    gen = torch.Generator().manual_seed(seed)
    tokens = repeated_random_tokens(gen, 8, INDUCTION_SPAN, 2 * INDUCTION_SPAN + 1, d_vocab, 0)
    _, cache = model.run_with_cache(tokens, names_filter=lambda name: name.endswith("hook_pattern"))
    scores = []
    for layer in range(model.cfg.n_layers):
        pattern = cache[f"blocks.{layer}.attn.hook_pattern"]
        stripe = pattern.diagonal(offset=-1, dim1=-2, dim2=-1)[..., 1:]  # skip the query right after BOS
        scores.append([round(v, 4) for v in stripe.mean(dim=(0, 2)).tolist()])
    return scores


def _head_table(title: str, scores: list[list[float]]) -> list[str]:
    n_heads = len(scores[0])
    lines = [f"| {title} | " + " | ".join(f"H{h}" for h in range(n_heads)) + " |", "|---" * (n_heads + 1) + "|"]
    for layer, row in enumerate(scores):
        lines.append(f"| layer {layer} | " + " | ".join(f"**{s:.2f}**" if s >= 0.6 else f"{s:.2f}" for s in row) + " |")
    return lines


def report(curve_every: int = 1) -> str:
    """Markdown measured on the shipped files, loaded with ``from_pretrained``.

    Args:
        curve_every: keep every ``curve_every``-th entry of the training log (and the last).
    """
    tokenizer = Tokenizer.from_file(str(embedded.EMBEDDED_DIR / embedded.TOKENIZER_FILE_NAME))
    _, eval_windows, unigram = _heldout_windows_and_unigram(tokenizer)
    lines = [
        f"Held-out set: 64 windows of {SPECS[0].n_ctx} tokens from the held-out stdlib files. Unigram baseline"
        f" (add-one smoothed training-token frequencies): {unigram:.3f} nats/token.",
        "",
    ]
    for name in embedded.EMBEDDED_MODEL_NAMES:
        meta = embedded.read_model_config(name)
        model = HookedTransformer.from_pretrained(name, device="cpu")
        induction = induction_report(model, model.cfg.d_vocab)
        training = meta["training"]
        lines += [
            f"#### {name}",
            "",
            f"- {model.cfg.n_layers} layers, d_model {model.cfg.d_model}, {model.cfg.n_heads} heads of"
            f" {model.cfg.d_head}, " + ("attention only" if model.cfg.attn_only else f"GELU MLPs of {model.cfg.d_mlp}")
            + f", n_ctx {model.cfg.n_ctx}, LayerNorm, tied embeddings",
            f"- parameters: {meta['weights']['n_params']:,} ({meta['weights']['bytes']:,} bytes in float16)",
            f"- trained {training['settings']['steps']} steps in {training['train_seconds']} s",
            f"- held-out loss: **{evaluate(model, eval_windows):.3f}** nats/token (unigram baseline {unigram:.3f})",
            f"- random tokens repeated twice (span {induction['span']}, 8 sequences): loss"
            f" {induction['first_copy_loss']:.3f} on the first copy, **{induction['second_copy_loss']:.3f}** on the repeat",
            "",
            *_head_table("induction score", induction["scores"]),
            "",
            *_head_table("previous-token score", previous_token_scores(model, model.cfg.d_vocab)),
            "",
            "| step | natural-text loss | repeated-span loss | held-out loss (16 windows) | best induction score | seconds |",
            "|---|---|---|---|---|---|",
        ]
        log = training["log"]
        for i, e in enumerate(log):
            if (i + 1) % curve_every and i + 1 != len(log):
                continue
            natural = f"{e['train_loss']:.3f}" if e["train_loss"] else "(warm-up)"
            lines.append(
                f"| {e['step']} | {natural} | {e['repeat_loss']:.3f} | {e['heldout_loss']:.3f}"
                f" | {e['induction_max']:.2f} | {e['seconds']:.0f} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command line: rebuild the tokenizer and the embedded models (or ``--report`` on them)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=embedded.EMBEDDED_DIR)
    parser.add_argument("--steps", type=int, default=TrainSettings.steps)
    parser.add_argument("--log-every", type=int, default=TrainSettings.log_every)
    parser.add_argument("--only", choices=[spec.name for spec in SPECS], action="append")
    parser.add_argument("--report", action="store_true", help="measure the shipped models, print markdown")
    parser.add_argument("--curve-every", type=int, default=1, help="with --report: log entries to keep")
    args = parser.parse_args(argv)
    if args.report:
        sys.stdout.write(report(args.curve_every) + "\n")
        return
    settings = TrainSettings(steps=args.steps, log_every=args.log_every)
    torch.set_num_threads(settings.threads)

    tokenizer = bpe.train_bpe(corpus.read_texts(corpus.corpus_files("train")))
    bpe.save_tokenizer(tokenizer, args.out / embedded.TOKENIZER_FILE_NAME)
    d_vocab = tokenizer.get_vocab_size()
    train_stream, eval_large, unigram = _heldout_windows_and_unigram(tokenizer)
    eval_small = eval_large[:: len(eval_large) // settings.eval_windows]

    for spec in SPECS:
        if args.only and spec.name not in args.only:
            continue
        start = time.perf_counter()
        model, log = train_one(spec, settings, train_stream, eval_small, d_vocab)
        record = {
            "config": spec.config_kwargs(d_vocab),
            "training": {
                "settings": asdict(settings),
                "span_range": list(SPAN_RANGE),
                "train_tokens": len(train_stream),
                "train_seconds": round(time.perf_counter() - start),
                "log": log,
                "heldout_loss": round(evaluate(model, eval_large), 4),
                "unigram_loss": round(unigram, 4),
                "induction": induction_report(model, d_vocab),
            },
        }
        out_dir = args.out / spec.name.split("/", 1)[1]
        record = export(model, out_dir, record)
        summary = {k: record["training"][k] for k in ("heldout_loss", "unigram_loss", "induction")}
        tqdm.write(f"{spec.name}: {json.dumps(summary)}")

