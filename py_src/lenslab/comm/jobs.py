"""Runs the sidebar's patch jobs: a queue, one worker thread, progress, cancel, results.

A job (see ``recipes``) runs on a worker thread, one job at a time, so the comm keeps reading
``cancel`` and the panel gets ``progress`` while it runs. Notebook cells run meanwhile: the
job's hooks are scoped to the worker thread (``transformer_lens.hook_points``), so neither the
job nor a cell sees the other's hooks and both compute exactly what they would alone. What a
cell can still do to a running job is change the model itself (its weights, config or global
hooks): the job notices (:class:`ModelState`) and fails instead of returning mixed numbers.
Every open panel receives every job's events.
"""

from __future__ import annotations

import contextvars
import sys
import threading
import time
from collections import deque
from typing import Any, Callable, Optional

from lenslab.comm import protocol as p
from lenslab.comm.recipes import METRICS, PATCH_KINDS, Outcome, Prepared, compute, job_code

#: Results larger than this are sent without their values (the widget still shows them).
MAX_SENT_VALUES = 200_000
#: At most this many seconds between two progress messages of a running job.
PROGRESS_INTERVAL_S = 0.1


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
        # The submitting request's context: the worker runs the job in it, so the job's messages
        # carry that request as their parent (the kernel routes the panel's next requests by it).
        self.context = contextvars.copy_context()

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
            job.context.run(self._run, job)

    def _run(self, job: Job) -> None:
        from transformer_lens.patching import PatchingCancelled

        last_sent = [0.0]

        def on_progress(done: int, total: int) -> None:
            # The engine counts the same patched runs as the job (tested for every kind).
            with self._lock:
                job.done = done
            now = time.monotonic()
            if now - last_sent[0] >= PROGRESS_INTERVAL_S or done == job.prep.total:
                last_sent[0] = now
                self._broadcast(p.Progress(id=job.request_id, job_id=job.job_id, done=done, total=job.prep.total))

        try:
            before = ModelState(job.model)
            outcome = compute(job.spec, job.model, job.prep, job.token, on_progress)
            before.check_unchanged(job.spec.model)
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


class ModelChanged(RuntimeError):
    """The model changed while a job ran on it, so the job's numbers would mix two models."""


class ModelState:
    """What a job's numbers depend on besides its own hooks: every parameter and buffer (the
    tensor, its storage and torch's in-place version counter), the config and the global hooks.

    Scoped hooks make a cell's ``run_with_hooks`` invisible to a job, but a cell that edits the
    weights in place, reloads or moves them, flips a ``cfg`` switch or adds a global hook while
    the job runs changes the model under it. Edits through ``.data`` bypass torch's version
    counters and are not seen.
    """

    def __init__(self, model: Any) -> None:
        self._model = model
        self._state = self._capture(model)

    @staticmethod
    def _capture(model: Any) -> tuple[Any, ...]:
        tensors = tuple(
            (name, id(t), t.data_ptr(), t._version, tuple(t.shape), str(t.dtype), str(t.device))
            for name, t in (*model.named_parameters(), *model.named_buffers())
        )
        hooks = tuple((name, tuple(map(id, hp.fwd_hooks)), tuple(map(id, hp.bwd_hooks))) for name, hp in model.hook_dict.items())
        return tensors, repr(sorted(vars(model.cfg).items())), hooks

    def changes(self) -> list[str]:
        """What changed since the snapshot: "weights", "config", "global hooks"."""
        now = self._capture(self._model)
        return [what for what, a, b in zip(("weights", "config", "global hooks"), self._state, now) if a != b]

    def check_unchanged(self, name: str) -> None:
        changed = self.changes()
        if changed:
            raise ModelChanged(
                f"{name}'s {' and '.join(changed)} changed while the job ran (a notebook cell edited the model), "
                "so its numbers would mix two models; run the job again"
            )


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
