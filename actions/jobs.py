"""Background jobs (workloads, cleanups, rebalances): a thread each, cancellable at any point,
observed through immutable snapshots so any client (the TUI, a script) can render them."""

from __future__ import annotations

import itertools
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

RUNNING, CANCELLING = "running", "cancelling"
FINISHED, FAILED, CANCELLED = "finished", "failed", "cancelled"
LOG_LINES = 200
SERIES_POINTS = 600


@dataclass(frozen=True)
class JobSnapshot:
    id: int
    kind: str  # workload, cleanup, rebalance, compare, ...
    title: str
    cluster: str
    state: str
    started_at: float
    finished_at: float | None = None
    done: float = 0.0
    total: float | None = None
    unit: str = ""
    rate: float | None = None  # units per second over the run so far
    log: tuple[str, ...] = ()
    summary: tuple[tuple[str, str], ...] = ()  # the result, as label/value pairs
    series: tuple[tuple[str, tuple[tuple[float, float], ...]], ...] = ()  # name -> (t, value)
    group: str | None = None  # jobs of one comparison share a group
    error: str | None = None
    server_job: str | None = None  # the server's own id for it, e.g. "citus job 17"
    current: str | None = None  # the step under way, in a line (a shard move, a chunk)
    paused: bool = False  # held by the operator at its next chunk boundary
    holds: bool = False  # it can be held (a cleanup, at a chunk boundary)
    # What can be changed while it runs (a cleanup: batch_size, batch_delay_s, max_lag_s) and
    # the values now; empty for a job that takes no live changes.
    settings: tuple[tuple[str, str], ...] = ()
    # A comparison's rows (one per method, as `compare` prints them): what an export of a
    # recording renders again.
    rows: tuple[Mapping[str, Any], ...] = ()

    @property
    def running(self) -> bool:
        return self.state in (RUNNING, CANCELLING)

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return max(0.0, min(1.0, self.done / self.total))

    @property
    def eta_s(self) -> float | None:
        if not self.running or not self.total or not self.rate or self.rate <= 0:
            return None
        return max(0.0, (self.total - self.done) / self.rate)

    def elapsed_s(self, now: float | None = None) -> float:
        end = self.finished_at if self.finished_at is not None else (now or time.time())
        return max(0.0, end - self.started_at)

    def series_named(self, name: str) -> tuple[tuple[float, float], ...]:
        return dict(self.series).get(name, ())


def _set(event: threading.Event) -> threading.Event:
    event.set()
    return event


class JobCancelled(Exception):
    """Raised inside a job's own thread at a point where stopping leaves the data consistent."""


@dataclass
class Job(ABC):
    """One background change. Subclasses implement run(); they call progress(), log() and
    check_cancelled() as they go, and return the summary."""

    # Whether run() waits at safe points while the operator holds it (hold_while_paused).
    HOLDS: ClassVar[bool] = False

    kind: str
    title: str
    cluster: str
    unit: str = ""
    group: str | None = None
    id: int = 0
    state: str = RUNNING
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    done: float = 0.0
    total: float | None = None
    error: str | None = None
    summary: tuple[tuple[str, str], ...] = ()
    server_job: str | None = None  # the server's own id for this job, once it has one
    current: str | None = None
    held_s: float = 0.0  # how long the operator held it, in all
    _log: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_LINES))
    _series: dict[str, deque[tuple[float, float]]] = field(default_factory=dict)
    _cancel: threading.Event = field(default_factory=threading.Event)
    _resume: threading.Event = field(default_factory=lambda: _set(threading.Event()))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    @abstractmethod
    def run(self) -> Sequence[tuple[str, str]]:
        """Do the work in the job's thread; return the result as label/value pairs."""

    # -- called from the job's own thread --------------------------------------------------------

    def progress(self, done: float, total: float | None = None) -> None:
        with self._lock:
            self.done = done
            if total is not None:
                self.total = total

    def log(self, line: str) -> None:
        stamp = time.strftime("%H:%M:%S", time.gmtime())
        with self._lock:
            self._log.append(f"{stamp} {line}")

    def set_current(self, line: str | None) -> None:
        """What the job is doing now (None: between steps, or done)."""
        with self._lock:
            self.current = line

    def record(self, name: str, value: float, at: float | None = None) -> None:
        with self._lock:
            series = self._series.setdefault(name, deque(maxlen=SERIES_POINTS))
            series.append((at if at is not None else time.time(), value))

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise JobCancelled

    def wait(self, seconds: float) -> None:
        """Sleep that a cancel cuts short."""
        if self._cancel.wait(seconds):
            raise JobCancelled

    def hold_while_paused(self) -> None:
        """At a point where stopping leaves the data consistent: wait while the operator
        holds the job (a cancel still ends it)."""
        if self._resume.is_set():
            return
        self.log("paused by the operator")
        started = time.monotonic()
        try:
            while not self._resume.wait(0.2):
                self.check_cancelled()
        finally:
            self.held_s += time.monotonic() - started
        self.log("resumed by the operator")

    # -- live changes: what a job takes while it runs (none by default) ---------------------------

    def live_settings(self) -> tuple[tuple[str, str], ...]:
        return ()

    def result_rows(self) -> tuple[Mapping[str, Any], ...]:
        """Rows of a result that is a table (a comparison's); none by default."""
        return ()

    def change(self, key: str, value: str) -> str:
        """Change a setting while the job runs; the line logged. Raises InputError."""
        from clustertop.core.errors import InputError

        raise InputError(key, value, f"job {self.id} ({self.kind}) takes no live changes")

    # -- called from anywhere --------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name=f"job-{self.id}", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        with self._lock:
            if self.state == RUNNING:
                self.state = CANCELLING
        self._cancel.set()

    def pause(self) -> None:
        """Hold the job at its next chunk boundary. A job that never waits for a hold refuses,
        rather than be shown as held while it runs on."""
        if not self.HOLDS:
            from clustertop.core.errors import OperationFailed

            raise OperationFailed(
                f"job {self.id} ({self.kind}) cannot be held: only a cleanup holds, at a chunk "
                "boundary"
            )
        self._resume.clear()

    def resume(self) -> None:
        self._resume.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _main(self) -> None:
        try:
            summary = tuple(self.run())
            end_state, error = FINISHED, None
        except JobCancelled:
            summary, end_state, error = self.summary, CANCELLED, None
        except Exception as exc:  # a job reports its failure; it never takes the app down
            summary, end_state, error = (
                self.summary,
                FAILED,
                " ".join(str(exc).split()) or type(exc).__name__,
            )
        with self._lock:
            self.summary = summary
            self.state = end_state
            self.error = error
            self.finished_at = time.time()
            self.current = None
        self.log(f"{end_state}" + (f": {error}" if error else ""))

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            elapsed = (self.finished_at or time.time()) - self.started_at
            return JobSnapshot(
                id=self.id,
                kind=self.kind,
                title=self.title,
                cluster=self.cluster,
                state=self.state,
                started_at=self.started_at,
                finished_at=self.finished_at,
                done=self.done,
                total=self.total,
                unit=self.unit,
                rate=self.done / elapsed if elapsed > 0 and self.done else None,
                log=tuple(self._log),
                summary=self.summary,
                series=tuple((k, tuple(v)) for k, v in self._series.items()),
                group=self.group,
                error=self.error,
                server_job=self.server_job,
                current=self.current,
                paused=not self._resume.is_set(),
                holds=self.HOLDS,
                settings=self.live_settings(),
                rows=self.result_rows(),
            )


class JobRegistry:
    """Every job of this process, in start order."""

    def __init__(self) -> None:
        self._jobs: list[Job] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def start(self, job: Job) -> Job:
        with self._lock:
            job.id = next(self._ids)
            self._jobs.append(job)
        job.start()
        return job

    def get(self, job_id: int) -> Job | None:
        with self._lock:
            return next((j for j in self._jobs if j.id == job_id), None)

    def snapshots(self) -> tuple[JobSnapshot, ...]:
        with self._lock:
            jobs = list(self._jobs)
        return tuple(j.snapshot() for j in jobs)

    def running(self) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs if j.state in (RUNNING, CANCELLING)]

    def cancel_all(self, wait: float = 5.0) -> bool:
        """Ask every running job to stop; True when all ended within `wait` seconds."""
        jobs = self.running()
        for job in jobs:
            job.cancel()
        deadline = time.monotonic() + wait
        for job in jobs:
            job.join(max(0.0, deadline - time.monotonic()))
        return not self.running()
