"""Patch jobs started from the sidebar: validation, a worker thread, progress, cancel, code.

A job is one ``transformer_lens.patching`` call, named by a fixed patch kind and metric (never
by code). It runs on a worker thread, one job at a time, so the comm keeps reading ``cancel``
and the panel gets ``progress`` while it runs. The job's hooks sit on the user's model while it
runs, so a notebook cell started meanwhile waits for it (see :meth:`JobRunner.hold_cell`).

Every job's result comes with the code that reproduces it: the same calls, in the same order,
with the same arguments, so running the inserted cell gives the same numbers.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Optional

from lenslab.comm import protocol as p

#: Results larger than this are sent without their values (the widget still shows them).
MAX_SENT_VALUES = 200_000
#: Patched runs per forward pass at most; jobs are split into about TARGET_CHUNKS chunks so
#: progress moves and a cancel takes effect quickly.
MAX_BATCH_SIZE = 32
TARGET_CHUNKS = 16
#: At most this many seconds between two progress messages of a running job.
PROGRESS_INTERVAL_S = 0.1


@dataclass(frozen=True)
class KindSpec:
    """A patch kind: the patching function, the hooks it needs and how many runs it makes."""

    label: str
    function: str
    hooks: tuple[str, ...]  # short names (get_act_name) every block must have
    runs: Callable[[Any, int], int]  # (cfg, n_pos) -> number of patched runs


def _heads(cfg: Any) -> int:
    return cfg.n_heads


def _kv_heads(cfg: Any) -> int:
    return cfg.n_key_value_heads or cfg.n_heads


PATCH_KINDS: dict[str, KindSpec] = {
    "resid_pre": KindSpec("Residual stream (block inputs), by position", "get_act_patch_resid_pre", ("resid_pre",), lambda c, n: c.n_layers * n),
    "attn_out": KindSpec("Attention layer outputs, by position", "get_act_patch_attn_out", ("attn_out",), lambda c, n: c.n_layers * n),
    "mlp_out": KindSpec("MLP layer outputs, by position", "get_act_patch_mlp_out", ("mlp_out",), lambda c, n: c.n_layers * n),
    "block_every": KindSpec(
        "Residual stream, attention and MLP outputs", "get_act_patch_block_every", ("resid_pre", "attn_out", "mlp_out"), lambda c, n: 3 * c.n_layers * n
    ),
    "heads_all_pos": KindSpec("Attention heads, all positions", "get_act_patch_attn_head_out_all_pos", ("z",), lambda c, n: c.n_layers * _heads(c)),
    "heads_by_pos": KindSpec("Attention heads, by position", "get_act_patch_attn_head_out_by_pos", ("z",), lambda c, n: c.n_layers * n * _heads(c)),
    "head_components_all_pos": KindSpec(
        "Head output, query, key, value and pattern, all positions",
        "get_act_patch_attn_head_all_pos_every",
        ("z", "q", "k", "v", "pattern"),
        lambda c, n: c.n_layers * (3 * _heads(c) + 2 * _kv_heads(c)),
    ),
    "head_components_by_pos": KindSpec(
        "Head output, query, key, value and pattern, by position",
        "get_act_patch_attn_head_by_pos_every",
        ("z", "q", "k", "v", "pattern"),
        lambda c, n: c.n_layers * n * (3 * _heads(c) + 2 * _kv_heads(c)),
    ),
}


@dataclass(frozen=True)
class MetricSpec:
    label: str
    needs_incorrect: bool


METRICS: dict[str, MetricSpec] = {
    "logit_diff": MetricSpec("Logit difference (correct - incorrect), last position", True),
    "normalized_logit_diff": MetricSpec("Logit difference scaled to corrupted = 0, clean = 1", True),
    "correct_logprob": MetricSpec("Log-probability of the correct answer, last position", False),
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


def _single_token(model: Any, text: str, what: str) -> int:
    try:
        return model.to_single_token(text)
    except ValueError as e:
        raise InvalidJob(f"the {what} answer must be one token: {e}") from None


# ---- the computation (worker thread) and its code ----------------------------------------------


def _logit_diff(correct: int, incorrect: int) -> Callable[[Any], Any]:
    def logit_diff(logits: Any) -> Any:
        return (logits[:, -1, correct] - logits[:, -1, incorrect]).mean()

    return logit_diff


def _normalized(logit_diff: Callable[[Any], Any], clean_diff: float, corrupted_diff: float) -> Callable[[Any], Any]:
    def metric(logits: Any) -> Any:
        return (logit_diff(logits) - corrupted_diff) / (clean_diff - corrupted_diff)

    return metric


def _correct_logprob(correct: int) -> Callable[[Any], Any]:
    def metric(logits: Any) -> Any:
        return logits[:, -1].log_softmax(dim=-1)[:, correct].mean()

    return metric


@dataclass
class Outcome:
    results: Any  # the patching function's tensor
    clean_metric: float
    corrupted_metric: float


def compute(spec: p.JobSpec, model: Any, prep: Prepared, cancel: Any, on_run: Callable[[], None]) -> Outcome:
    """The job itself: the same steps as :func:`job_code`'s code (a test runs both and compares)."""
    import torch
    from transformer_lens import patching

    with torch.no_grad():
        clean_logits, clean_cache = model.run_with_cache(prep.clean_tokens)
        corrupted_logits = model(prep.corrupted_tokens)
    if spec.metric == "correct_logprob":
        metric = _correct_logprob(prep.correct)
    else:
        assert prep.incorrect is not None
        metric = _logit_diff(prep.correct, prep.incorrect)
        if spec.metric == "normalized_logit_diff":
            clean_diff, corrupted_diff = metric(clean_logits).item(), metric(corrupted_logits).item()
            if abs(clean_diff - corrupted_diff) <= 1e-6 * max(1.0, abs(clean_diff)):
                raise InvalidJob("the clean and corrupted runs have the same logit difference, so it cannot be normalised")
            metric = _normalized(metric, clean_diff, corrupted_diff)

    def counted(logits: Any) -> Any:
        value = metric(logits)
        on_run()
        return value

    function = getattr(patching, PATCH_KINDS[spec.kind].function)
    results = function(model, prep.corrupted_tokens, clean_cache, counted, batch_size=prep.batch_size, progress=False, cancel=cancel)
    return Outcome(results, float(metric(clean_logits).item()), float(metric(corrupted_logits).item()))


def job_code(spec: p.JobSpec, prep: Prepared, job_id: int) -> str:
    """Python that reproduces the job with ``transformer_lens.patching`` and shows its grid."""
    kind = PATCH_KINDS[spec.kind]
    m = spec.model
    lines = [
        f"# LensLab sidebar job {job_id}: {kind.label.lower()}; metric: {METRICS[spec.metric].label.lower()}",
        "import torch",
        "import lenslab",
        "from transformer_lens import patching",
        "",
        f"clean_tokens = {m}.to_tokens({spec.clean_prompt!r})",
        f"corrupted_tokens = {m}.to_tokens({spec.corrupted_prompt!r})",
        f"correct_token = {m}.to_single_token({spec.correct_answer!r})",
    ]
    if spec.metric != "correct_logprob":
        lines.append(f"incorrect_token = {m}.to_single_token({spec.incorrect_answer!r})")
    lines += [
        "with torch.no_grad():",
        f"    clean_logits, clean_cache = {m}.run_with_cache(clean_tokens)",
        f"    corrupted_logits = {m}(corrupted_tokens)",
        "",
    ]
    if spec.metric == "correct_logprob":
        lines += [
            "def metric(logits):",
            "    return logits[:, -1].log_softmax(dim=-1)[:, correct_token].mean()",
        ]
    elif spec.metric == "logit_diff":
        lines += [
            "def metric(logits):",
            "    return (logits[:, -1, correct_token] - logits[:, -1, incorrect_token]).mean()",
        ]
    else:
        lines += [
            "def logit_diff(logits):",
            "    return (logits[:, -1, correct_token] - logits[:, -1, incorrect_token]).mean()",
            "",
            "clean_diff = logit_diff(clean_logits).item()",
            "corrupted_diff = logit_diff(corrupted_logits).item()",
            "",
            "def metric(logits):",
            "    # 0 = the corrupted run's logit difference, 1 = the clean run's",
            "    return (logit_diff(logits) - corrupted_diff) / (clean_diff - corrupted_diff)",
        ]
    lines += [
        "",
        "# batch_size: patched runs per forward pass, as the sidebar ran them (any value gives the same numbers up to float rounding)",
        f"results = patching.{kind.function}(",
        f"    {m}, corrupted_tokens, clean_cache, metric, batch_size={prep.batch_size}, progress=False",
        ")",
        f"lenslab.show(results, kind={kind.function!r}, model={m}, tokens=clean_tokens)",
    ]
    return "\n".join(lines) + "\n"


# ---- the runner --------------------------------------------------------------------------------


class Job:
    """One job's state; the runner's lock guards every mutable field."""

    def __init__(self, job_id: int, request_id: str, spec: p.JobSpec, model: Any, prep: Prepared) -> None:
        from transformer_lens.patching import CancelToken

        self.job_id = job_id
        self.request_id = request_id
        self.spec = spec
        self.prep = prep
        self.model: Any = model  # dropped when the job ends
        self.token = CancelToken()
        self.status: str = "queued"
        self.done = 0
        self.started: Optional[float] = None
        self.elapsed: Optional[float] = None
        self.message: Optional[str] = None
        self.result: Optional[p.Result] = None
        self.widget: Any = None
        self.finished = threading.Event()

    def record(self) -> p.JobRecord:
        return p.JobRecord(
            job_id=self.job_id,
            spec=self.spec,
            status=self.status,  # type: ignore[arg-type]
            done=self.done,
            total=self.prep.total,
            elapsed_s=None if self.elapsed is None else round(self.elapsed, 3),
            message=self.message,
        )


Send = Callable[[p.Message], None]


class JobRunner:
    """Runs jobs one at a time on a worker thread and broadcasts their events to every panel."""

    def __init__(self, make_widget: Optional[Callable[[Job, Outcome], Any]] = None) -> None:
        self._lock = threading.RLock()
        self._jobs: dict[int, Job] = {}
        self._queue: deque[Job] = deque()
        self._subscribers: list[Send] = []
        self._worker: Optional[threading.Thread] = None
        self._next_id = 1
        self._make_widget = make_widget if make_widget is not None else _patching_grid

    # -- panels

    def subscribe(self, send: Send) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(send)

        def unsubscribe() -> None:
            with self._lock:
                if send in self._subscribers:
                    self._subscribers.remove(send)

        return unsubscribe

    def _broadcast(self, message: p.Message) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for send in subscribers:
            try:
                send(message)
            except Exception:  # a closed comm: forget it, keep the others
                with self._lock:
                    if send in self._subscribers:
                        self._subscribers.remove(send)

    # -- requests

    def submit(self, request_id: str, spec: p.JobSpec, model: Any, prep: Prepared) -> Job:
        with self._lock:
            job = Job(self._next_id, request_id, spec, model, prep)
            self._next_id += 1
            self._jobs[job.job_id] = job
            self._queue.append(job)
            started = p.JobStarted(id=request_id, job=job.record(), batch_size=prep.batch_size)
        self._broadcast(started)
        with self._lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="lenslab-patch-jobs", daemon=True)
                self._worker.start()
        return job

    def cancel(self, job_id: int) -> Job:
        """Asks a job to stop (at its next chunk); a queued job is dropped at once."""
        with self._lock:
            job = self._jobs[job_id]
            job.token.cancel()
            if job.status == "queued" and job in self._queue:
                self._queue.remove(job)
                self._finish(job, "cancelled")
                event: Optional[p.Message] = p.Cancelled(id=job.request_id, job_id=job.job_id, done=0, total=job.prep.total)
            else:
                event = None
        if event is not None:
            self._broadcast(event)
            job.finished.set()
        return job

    def get(self, job_id: int) -> Job:
        with self._lock:
            return self._jobs[job_id]

    def records(self) -> list[p.JobRecord]:
        with self._lock:
            return [job.record() for job in self._jobs.values()]

    def active(self) -> list[Job]:
        """The running job and the queued ones, oldest first."""
        with self._lock:
            return [j for j in self._jobs.values() if j.status in ("queued", "running")]

    def wait_idle(self, timeout: Optional[float] = None) -> bool:
        """Blocks until no job is queued or running; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for job in self.active():
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not job.finished.wait(left):
                return False
        return True

    def cancel_all(self) -> None:
        for job in self.active():
            self.cancel(job.job_id)

    # -- the notebook side

    def hold_cell(self, *_: Any) -> None:
        """IPython ``pre_run_cell`` callback: a cell waits while a job's hooks are on a model.

        Interrupting the kernel while it waits cancels the jobs.
        """
        active = self.active()
        if not active:
            return
        job = active[0]
        print(f"LensLab: waiting for sidebar patch job {job.job_id} on {job.spec.model!r} (interrupt the kernel to cancel it)", file=sys.stderr)
        self._broadcast(p.CellWaiting(id=job.request_id, job_id=job.job_id, waiting=True))
        try:
            while not self.wait_idle(0.1):
                pass
        except KeyboardInterrupt:
            self.cancel_all()
            self.wait_idle()
            print("LensLab: interrupted; the sidebar patch jobs were cancelled", file=sys.stderr)
        finally:
            self._broadcast(p.CellWaiting(id=job.request_id, job_id=job.job_id, waiting=False))

    # -- the worker

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._worker = None
                    return
                job = self._queue.popleft()
                job.status = "running"
                job.started = time.monotonic()
            self._run(job)

    def _run(self, job: Job) -> None:
        from transformer_lens.patching import PatchingCancelled

        last_sent = [0.0]

        def on_run() -> None:
            with self._lock:
                job.done = min(job.done + 1, job.prep.total)
                done = job.done
            now = time.monotonic()
            if now - last_sent[0] >= PROGRESS_INTERVAL_S or done == job.prep.total:
                last_sent[0] = now
                self._broadcast(p.Progress(id=job.request_id, job_id=job.job_id, done=done, total=job.prep.total))

        # Progress counts the metric's calls: the engine calls it once on the corrupted run, then
        # once per computed patched run. Runs it can answer without a forward pass (patches that
        # change nothing) are not counted, so the count may jump to the total at the end.
        started_runs = [False]

        def count_patched_runs() -> None:
            if started_runs[0]:
                on_run()
            started_runs[0] = True

        try:
            outcome = compute(job.spec, job.model, job.prep, job.token, count_patched_runs)
        except PatchingCancelled:
            with self._lock:
                self._finish(job, "cancelled")
                event: p.Message = p.Cancelled(id=job.request_id, job_id=job.job_id, done=job.done, total=job.prep.total)
            self._broadcast(event)
            job.finished.set()
            return
        except Exception as e:  # a failed job must not take the kernel (or the worker) down
            with self._lock:
                self._finish(job, "failed", f"{type(e).__name__}: {e}")
                event = p.JobFailed(id=job.request_id, job_id=job.job_id, error_type=type(e).__name__, message=str(e)[:4000])
            self._broadcast(event)
            job.finished.set()
            return
        with self._lock:
            finishing = job.done != job.prep.total
            job.done = job.prep.total
        if finishing:
            self._broadcast(p.Progress(id=job.request_id, job_id=job.job_id, done=job.prep.total, total=job.prep.total))
        widget_id = None
        try:
            job.widget = self._make_widget(job, outcome)
            widget_id = getattr(job.widget, "model_id", None)
        except Exception as e:  # the values still reach the panel, which then draws its own view
            print(f"LensLab: could not build the PatchingGrid widget for job {job.job_id}: {e}", file=sys.stderr)
        results = outcome.results.detach().float().cpu()
        with self._lock:
            job.done = job.prep.total
            self._finish(job, "done")
            job.result = p.Result(
                id=job.request_id,
                job=job.record(),
                shape=list(results.shape),
                values=results.flatten().tolist() if results.numel() <= MAX_SENT_VALUES else [],
                widget_model_id=widget_id,
                code=job_code(job.spec, job.prep, job.job_id),
                clean_metric=outcome.clean_metric,
                corrupted_metric=outcome.corrupted_metric,
            )
            event = job.result
        self._broadcast(event)
        job.finished.set()

    def _finish(self, job: Job, status: str, message: Optional[str] = None) -> None:
        # The caller broadcasts the final event, then sets job.finished (so waiters see the event).
        job.status = status
        job.message = message
        if job.started is not None:
            job.elapsed = time.monotonic() - job.started
        job.model = None


def _patching_grid(job: Job, outcome: Outcome) -> Any:
    from lenslab.widgets.patching_grid import PatchingGrid

    kind = PATCH_KINDS[job.spec.kind]
    model = job.model
    return PatchingGrid(
        outcome.results,
        kind=kind.function,
        model=model,
        tokens=job.prep.clean_tokens,
        title=f"Job {job.job_id}: {kind.label} ({METRICS[job.spec.metric].label.split(',')[0].lower()})",
    )


def result_for(job: Job) -> p.Result:
    """The stored result of a finished job, addressed to whoever asks (``get_result``)."""
    if job.result is None:
        raise KeyError(job.job_id)
    return job.result
