"""What a sidebar patch job computes, and the code that reproduces it.

A job is named by a fixed patch kind (one ``transformer_lens.patching`` function) and a fixed
metric, never by code. ``prepare`` checks a job against its model before it is accepted,
``compute`` runs it, and ``job_code`` writes the same steps as a notebook cell: the same calls,
in the same order, with the same arguments, so the cell gives the same numbers (a test runs
both and compares them bitwise).
"""

from __future__ import annotations

import ast
import math
import textwrap
from dataclasses import dataclass
from typing import Any, Callable, Optional

from transformer_lens.hooked_model import HookedModel
from transformer_lens.sweeps import SweepConfig, SweepSpec, engine_runs, sidebar_sweeps

from lenslab.comm import protocol as p

#: Patched runs per forward pass at most; jobs are split into about TARGET_CHUNKS chunks so
#: progress moves and a cancel takes effect quickly.
MAX_BATCH_SIZE = 32
TARGET_CHUNKS = 16


@dataclass(frozen=True)
class KindSpec:
    """A patch kind as the sidebar sees it, derived from the core's sweep registry."""

    label: str
    function: str
    hooks: tuple[str, ...]  # short names (get_act_name) every block must have
    sweep: SweepSpec

    def runs(self, cfg: SweepConfig, n_pos: int) -> int:
        """Patched runs the engine makes for this kind (its index space, from the registry)."""
        return engine_runs(self.sweep, cfg, n_pos)


#: The sidebar's kinds: the registry entries with a sidebar label, in its order.
PATCH_KINDS: dict[str, KindSpec] = {
    spec.name: KindSpec(spec.sidebar_label or spec.name, spec.function, spec.hooks(), spec) for spec in sidebar_sweeps()
}


# ---- metrics: each entry holds the function and the code Insert-as-code writes for it --------------

Metric = Callable[[Any], Any]


def _logit_diff(correct: int, incorrect: int) -> Metric:
    def logit_diff(logits: Any) -> Any:
        return (logits[:, -1, correct] - logits[:, -1, incorrect]).mean()

    return logit_diff


def _build_logit_diff(correct: int, incorrect: Optional[int], clean_logits: Any, corrupted_logits: Any) -> Metric:
    assert incorrect is not None
    return _logit_diff(correct, incorrect)


def _build_normalized(correct: int, incorrect: Optional[int], clean_logits: Any, corrupted_logits: Any) -> Metric:
    assert incorrect is not None
    logit_diff = _logit_diff(correct, incorrect)
    clean_diff, corrupted_diff = logit_diff(clean_logits).item(), logit_diff(corrupted_logits).item()
    if abs(clean_diff - corrupted_diff) <= 1e-6 * max(1.0, abs(clean_diff)):
        raise InvalidJob("the clean and corrupted runs have the same logit difference, so it cannot be normalised")

    def metric(logits: Any) -> Any:
        return (logit_diff(logits) - corrupted_diff) / (clean_diff - corrupted_diff)

    return metric


def _build_correct_logprob(correct: int, incorrect: Optional[int], clean_logits: Any, corrupted_logits: Any) -> Metric:
    def metric(logits: Any) -> Any:
        return logits[:, -1].log_softmax(dim=-1)[:, correct].mean()

    return metric


_LOGIT_DIFF_SOURCE = """def logit_diff{s}(logits):
    return (logits[:, -1, correct_token{s}] - logits[:, -1, incorrect_token{s}]).mean()
"""


@dataclass(frozen=True)
class MetricSpec:
    """A sidebar metric: ``build(correct, incorrect, clean_logits, corrupted_logits)`` makes the
    function the job runs; ``source`` is the same metric as notebook code, defining ``metric{s}``
    from ``correct_token{s}``, ``incorrect_token{s}``, ``clean_logits{s}`` and ``corrupted_logits{s}``,
    where ``{s}`` is the job's name suffix (``source.format(s="_3")``; see :func:`job_code`)."""

    label: str
    needs_incorrect: bool
    build: Callable[[int, Optional[int], Any, Any], Metric]
    source: str


METRICS: dict[str, MetricSpec] = {
    "logit_diff": MetricSpec(
        "Logit difference (correct - incorrect), last position",
        True,
        _build_logit_diff,
        "def metric{s}(logits):\n    return (logits[:, -1, correct_token{s}] - logits[:, -1, incorrect_token{s}]).mean()\n",
    ),
    "normalized_logit_diff": MetricSpec(
        "Logit difference scaled to corrupted = 0, clean = 1",
        True,
        _build_normalized,
        _LOGIT_DIFF_SOURCE
        + "\nclean_diff{s} = logit_diff{s}(clean_logits{s}).item()\ncorrupted_diff{s} = logit_diff{s}(corrupted_logits{s}).item()\n\n"
        + "def metric{s}(logits):\n"
        + "    # 0 = the corrupted run's logit difference, 1 = the clean run's\n"
        + "    return (logit_diff{s}(logits) - corrupted_diff{s}) / (clean_diff{s} - corrupted_diff{s})\n",
    ),
    "correct_logprob": MetricSpec(
        "Log-probability of the correct answer, last position",
        False,
        _build_correct_logprob,
        "def metric{s}(logits):\n    return logits[:, -1].log_softmax(dim=-1)[:, correct_token{s}].mean()\n",
    ),
}


def kind_infos() -> list[p.PatchKindInfo]:
    return [p.PatchKindInfo(name, k.label, k.function) for name, k in PATCH_KINDS.items()]  # type: ignore[arg-type]


def metric_infos() -> list[p.MetricInfo]:
    return [p.MetricInfo(name, m.label, m.needs_incorrect) for name, m in METRICS.items()]  # type: ignore[arg-type]


def supported_kinds(model: Any) -> list[str]:
    """Patch kinds whose hooks exist in every block of `model` (no MLP kinds for attn-only models)."""
    if not _is_causal_lm(model):
        return []
    from transformer_lens import hook_names

    hook_dict = model.hook_dict
    cfg = model.cfg

    def runs(kind: KindSpec) -> bool:
        # Attention-only blocks still own MLP hook points (as upstream's do), but they never fire.
        if cfg.attn_only and _MLP_HOOKS.intersection(kind.hooks):
            return False
        return all(hook_names.get_act_name(h, layer) in hook_dict for h in kind.hooks for layer in range(cfg.n_layers))

    return [name for name, kind in PATCH_KINDS.items() if cfg.n_layers > 0 and runs(kind)]


_MLP_HOOKS = frozenset({"mlp_out", "mlp_in", "pre", "post", "mid", "pre_linear"})


def _is_causal_lm(model: Any) -> bool:
    from transformer_lens import HookedTransformer

    return isinstance(model, HookedTransformer)


# ---- validation (on the comm thread, before a job is accepted) -----------------------------------


@dataclass(frozen=True)
class Prepared:
    """A validated job: its tokens, answer ids, run count and chunk size."""

    clean_tokens: Any
    corrupted_tokens: Any
    correct: int
    incorrect: Optional[int]
    total: int
    batch_size: int


class InvalidJob(ValueError):
    """The job is well-formed but cannot run; the message says why, for the panel."""


def prepare(spec: p.JobSpec, model: Any) -> Prepared:
    """Checks that `spec` can run on `model` (token lengths, answers, kind) and sizes it."""
    if not _is_causal_lm(model):
        raise InvalidJob(f"{spec.model} is a {type(model).__name__}; patch jobs need a HookedTransformer")
    if getattr(model, "tokenizer", None) is None:
        raise InvalidJob(f"{spec.model} has no tokenizer: call {spec.model}.set_tokenizer(...) to patch from prompts")
    if spec.kind not in supported_kinds(model):
        if model.cfg.attn_only:
            raise InvalidJob(f"{spec.model} is attention-only: it has no MLP outputs, so it cannot run {spec.kind!r} patching")
        needs = ", ".join(PATCH_KINDS[spec.kind].hooks)
        raise InvalidJob(f"{spec.model} cannot run {spec.kind!r} patching: it lacks some of the {needs} hooks")
    metric = METRICS[spec.metric]
    if metric.needs_incorrect and not spec.incorrect_answer:
        raise InvalidJob(f"the {spec.metric} metric needs an incorrect answer")
    n_ctx = model.cfg.n_ctx
    lengths = []
    for what, prompt in (("clean", spec.clean_prompt), ("corrupted", spec.corrupted_prompt)):
        n = len(model.to_tokens(prompt, truncate=False, move_to_device=False)[0])
        if n > n_ctx:
            raise InvalidJob(f"the {what} prompt is {n} tokens long; {spec.model} takes at most n_ctx = {n_ctx}")
        lengths.append(n)
    if lengths[0] != lengths[1]:
        raise InvalidJob(
            f"the clean prompt is {lengths[0]} tokens and the corrupted prompt {lengths[1]}: patching needs the same number of tokens"
        )
    correct = _single_token(model, spec.correct_answer, "correct")
    incorrect = _single_token(model, spec.incorrect_answer, "incorrect") if metric.needs_incorrect else None
    if incorrect is not None and incorrect == correct:
        raise InvalidJob("the correct and incorrect answers are the same token")
    total = PATCH_KINDS[spec.kind].runs(model.cfg, lengths[0])
    return Prepared(
        clean_tokens=model.to_tokens(spec.clean_prompt),
        corrupted_tokens=model.to_tokens(spec.corrupted_prompt),
        correct=correct,
        incorrect=incorrect,
        total=total,
        batch_size=max(1, min(MAX_BATCH_SIZE, math.ceil(total / TARGET_CHUNKS))),
    )


def _single_token(model: HookedModel, text: str, what: str) -> int:
    try:
        return int(model.to_single_token(text))
    except ValueError as e:
        raise InvalidJob(f"the {what} answer must be one token: {e}") from None


# ---- the computation (worker thread) and its code ----------------------------------------------


@dataclass
class Outcome:
    results: Any  # the patching function's tensor
    clean_metric: float
    corrupted_metric: float


def compute(
    spec: p.JobSpec, model: HookedModel, prep: Prepared, cancel: Any, on_progress: Callable[[int, int], None]
) -> Outcome:
    """The job itself: the same steps as :func:`job_code`'s code (a test runs both and compares).

    ``on_progress(done, total)`` is the patching engine's own progress callable: patched runs
    finished so far, those it answered without a forward pass included.
    """
    import torch
    from transformer_lens import patching

    with torch.no_grad():
        clean_logits, clean_cache = model.run_with_cache(prep.clean_tokens)
        corrupted_logits = model(prep.corrupted_tokens)
    metric = METRICS[spec.metric].build(prep.correct, prep.incorrect, clean_logits, corrupted_logits)

    function = getattr(patching, PATCH_KINDS[spec.kind].function)
    results = function(
        model, prep.corrupted_tokens, clean_cache, metric, batch_size=prep.batch_size, progress=on_progress, cancel=cancel
    )
    return Outcome(results, float(metric(clean_logits).item()), float(metric(corrupted_logits).item()))


def job_suffix(job_id: int) -> str:
    """The suffix of every name a job's code defines (``results_3``): a fresh name per job, so
    inserting a job's code never overwrites the notebook's own ``metric`` or ``results``."""
    return f"_{job_id}"


def defined_names(code: str) -> list[str]:
    """Top-level names `code` binds (assignments, ``def``s, ``with`` bodies), imports excluded,
    in order: what the inserted cell's comment lists."""
    names: list[str] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found = [node.name]
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                found = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            elif isinstance(node, (ast.With, ast.If, ast.For, ast.Try)):
                visit(node.body)
                continue
            else:
                continue
            names.extend(n for n in found if n not in names)

    visit(ast.parse(code).body)
    return names


def job_code(spec: p.JobSpec, prep: Prepared, job_id: int) -> str:
    """Python that reproduces the job with ``transformer_lens.patching`` and shows its grid.

    Every name it defines ends in the job's suffix (``metric_3``, ``clean_cache_3``,
    ``results_3``) and its first comment lines say which, so running it keeps the notebook's
    own variables (and another job's) intact.
    """
    kind = PATCH_KINDS[spec.kind]
    m = spec.model
    s = job_suffix(job_id)
    lines = [
        "import torch",
        "import lenslab",
        "from transformer_lens import patching",
        "",
        f"clean_tokens{s} = {m}.to_tokens({spec.clean_prompt!r})",
        f"corrupted_tokens{s} = {m}.to_tokens({spec.corrupted_prompt!r})",
        f"correct_token{s} = {m}.to_single_token({spec.correct_answer!r})",
    ]
    if METRICS[spec.metric].needs_incorrect:
        lines.append(f"incorrect_token{s} = {m}.to_single_token({spec.incorrect_answer!r})")
    lines += [
        "with torch.no_grad():",
        f"    clean_logits{s}, clean_cache{s} = {m}.run_with_cache(clean_tokens{s})",
        f"    corrupted_logits{s} = {m}(corrupted_tokens{s})",
        "",
    ]
    lines += METRICS[spec.metric].source.format(s=s).rstrip("\n").split("\n")
    lines += [
        "",
        "# batch_size: patched runs per forward pass, as the sidebar ran them (any value gives the same numbers up to float rounding)",
        f"results{s} = patching.{kind.function}(",
        f"    {m}, corrupted_tokens{s}, clean_cache{s}, metric{s}, batch_size={prep.batch_size}, progress=False",
        ")",
        f"lenslab.show(results{s}, kind={kind.function!r}, model={m}, tokens=clean_tokens{s})",
    ]
    body = "\n".join(lines) + "\n"
    header = [f"# LensLab sidebar job {job_id}: {kind.label.lower()}; metric: {METRICS[spec.metric].label.lower()}"]
    header += textwrap.wrap(
        f"Defines {', '.join(defined_names(body))} (suffix {s}: the notebook's own names are left alone).",
        width=100,
        initial_indent="# ",
        subsequent_indent="# ",
        break_on_hyphens=False,
    )
    return "\n".join(header) + "\n" + body
