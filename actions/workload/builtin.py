"""The builtin workload job: the connections of actions.workload.driver, in threads of this
process or spread over worker processes, their tallies merged here into per-second samples,
live log lines and the run's summary."""

from __future__ import annotations

import copy
import math
import multiprocessing
import queue
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from clustertop.actions.cleanup.throttle import ClusterGauge
from clustertop.actions.jobs import Job
from clustertop.actions.workload.driver import (
    CONNECT_FAILED,
    ConnectionGroup,
    SecondStats,
    Tally,
    WorkloadSpec,
    process_main,
    worker_processes,
)
from clustertop.actions.workload.script import read_script_data
from clustertop.actions.workload.table import describe_table
from clustertop.collectors.engines import adapter_for
from clustertop.collectors.errors import close_quietly
from clustertop.core.config import ClusterConfig
from clustertop.core.errors import OperationFailed

__all__ = ["BuiltinWorkload", "SecondStats", "WorkloadSpec", "workload_job_fields"]

READY_TIMEOUT_S = 30.0  # worker processes import, then connect: generous, but bounded


def prepare_worker_processes() -> None:
    """Start multiprocessing's resource tracker with a real stderr to hand it.

    The tracker (started with the first Queue or Event) is given sys.stderr's file descriptor.
    A Textual app replaces sys.stderr while it runs with a capture whose fileno() is -1, and
    the spawn then fails with "bad value(s) in fds_to_keep". The TUI calls this before it takes
    the terminal; a job calls it again, and only if the tracker is not running yet does it lend
    the tracker the process's own stderr for the moment of its start."""
    from multiprocessing import resource_tracker

    current = sys.stderr
    try:
        usable = current is not None and current.fileno() >= 0
    except (AttributeError, ValueError, OSError):
        usable = False
    if usable or sys.__stderr__ is None:
        resource_tracker.ensure_running()
        return
    sys.stderr = sys.__stderr__
    try:
        resource_tracker.ensure_running()
    finally:
        sys.stderr = current


def workload_job_fields(spec: WorkloadSpec, cluster: str, engine: str) -> dict[str, Any]:
    """Kind, title and progress unit of a workload job, whichever engine drives it."""
    target = f"@{spec.target_tps:g} tps" if spec.target_tps else "unthrottled"
    prefix = "" if engine == "builtin" else f"{engine} "
    return {
        "kind": "workload",
        "title": f"{prefix}{spec.pattern} {spec.connections} conns {target}",
        "cluster": cluster,
        "unit": "tx" if spec.transactions else "s",
    }


class BuiltinWorkload(Job):
    def __init__(self, spec: WorkloadSpec, cluster: str,
                 gate: ClusterConfig | None = None) -> None:
        """`gate`: hold the run while the cluster's gate is NO-GO and end it on an abort rule
        (--gate), judged by the gate's own engine on a gauge of the cluster."""
        super().__init__(**workload_job_fields(spec, cluster, "builtin"))
        self.spec = spec
        self.gate = gate
        self.gauge: ClusterGauge | None = None
        self.hold: Any = None
        self.held_since: float | None = None
        self.held_s = 0.0
        self.aborted: str | None = None
        self.processes = worker_processes(spec)
        self.stats_lock = threading.Lock()
        self.tally = Tally()
        self.started_mono = 0.0
        self.reported = 0
        # Per source of counts (the threads of this process, or each worker process): the time
        # before which its counts are complete. A second is reported once all are past it.
        self.settled: dict[int, float] = {}
        # What each reported second said (the test of the live figures reads it back).
        self.reported_seconds: dict[int, SecondStats] = {}
        self.result: dict[str, Any] | None = None

    # -- the job ----------------------------------------------------------------------------------

    def run(self) -> Sequence[tuple[str, str]]:
        spec = self.spec
        probe = self._connect()
        try:
            if spec.script is not None:
                target: Any = read_script_data(probe, spec.node.family, spec.script)
            else:
                target = describe_table(probe, spec.node.family, spec.table, spec.node.database)
        finally:
            close_quietly(probe)
        total = spec.transactions
        self.progress(0, float(total) if total else spec.duration_s)
        where = "1 process" if self.processes == 1 else f"{self.processes} processes"
        skew = f", keys zipf:{spec.skew:g}" if spec.skew else ""
        self.log(
            f"{spec.connections} connections ({where}) on {spec.node.address}, {spec.target}, "
            f"mix {dict(spec.mix)}{skew}, target {spec.target_tps or 'unthrottled'}"
        )
        if self.gate is not None:
            self.gauge = ClusterGauge(self.gate, spec.node.name,
                                      pause_rules=self.gate.gate_rules,
                                      abort_rules=self.gate.abort_rules).start()
        try:
            if self.processes == 1:
                self._run_threads(target)
            else:
                self._run_processes(target)
        finally:
            if self.gauge is not None:
                self.gauge.close()
            elapsed = time.monotonic() - self.started_mono if self.started_mono else 0.0
            self._report_until(None)
            self.result = self.summary_json(elapsed)
            if self.gate is not None:
                held = self.held_s + (time.monotonic() - self.held_since
                                      if self.held_since is not None else 0.0)
                self.result["gate_held_s"] = round(held, 2)
                self.result["gate_abort"] = self.aborted
            self.summary = self.summary_pairs(self.result)  # kept when cancelled too
        failed = self.result["connections_failed"]
        if failed:
            first = next(k for k in self.result["errors_by_kind"] if k.startswith(CONNECT_FAILED))
            self.log(f"{failed} of {spec.connections} connections could not open: {first}")
        if self.aborted:
            raise OperationFailed(f"stopped by abort rule {self.aborted}")
        self.check_cancelled()
        if not self.result["transactions"] and self.result["errors"]:
            raise OperationFailed(
                f"nothing ran: {self.result['errors']} errors, e.g. "
                f"{next(iter(self.result['errors_by_kind']))}"
            )
        return self.summary

    def _connect(self) -> Any:
        node, timeout = self.spec.node, self.spec.statement_timeout
        return adapter_for(node).connect(node, connect_timeout=5, statement_timeout=timeout)

    def _run_threads(self, target: Any) -> None:
        self.hold = threading.Event()
        group = ConnectionGroup(self.spec, target, range(self.spec.connections), self.hold)
        group.connect()
        self.settled = {0: 0.0}
        self.started_mono = time.monotonic()
        runner = threading.Thread(
            target=group.run,
            args=(
                self.started_mono,
                lambda tally, settled: self._absorb(0, tally, settled),
                lambda: self.cancel_requested,
            ),
            name=f"workload-{self.id}",
            daemon=True,
        )
        runner.start()
        while runner.is_alive():
            runner.join(0.05)
            self._tick()

    def _run_processes(self, target: Any) -> None:
        prepare_worker_processes()
        # spawn, not fork: this job runs beside other threads (the TUI's, the poller's), and a
        # forked child would inherit their locks mid-use.
        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        go, cancel, start = ctx.Event(), ctx.Event(), ctx.Value("d", 0.0)
        self.hold = ctx.Event()
        indices = list(range(self.spec.connections))
        chunks = [indices[i :: self.processes] for i in range(self.processes)]
        self.settled = {chunk[0]: 0.0 for chunk in chunks if chunk}
        workers = [
            ctx.Process(
                target=process_main,
                args=(self.spec, target, chunk, start, go, cancel, out, self.hold),
                name=f"clustertop-workload-{self.id}-{n}",
                daemon=True,
            )
            for n, chunk in enumerate(chunks)
        ]
        for w in workers:
            w.start()
        try:
            waiting = self._gather(out, workers, "ready", READY_TIMEOUT_S)
            if waiting and not self.cancel_requested:
                raise RuntimeError(f"{waiting} worker processes did not start")
            self.started_mono = start.value = time.monotonic()
            go.set()
            self._gather(out, workers, "done", None, cancel=cancel)
        finally:
            cancel.set()
            go.set()
            for w in workers:
                w.join(5)
                if w.is_alive():
                    w.terminate()
                    w.join(2)
            out.close()
            out.join_thread()

    def _gather(
        self,
        out: Any,
        workers: Sequence[Any],
        until: str,
        timeout: float | None,
        *,
        cancel: Any = None,
    ) -> int:
        """Merge the workers' messages until each has said `until`; returns how many have not
        (after a timeout, a cancel before the start, or a worker's death)."""
        pending = len(workers)
        deadline = time.monotonic() + timeout if timeout is not None else None
        while pending:
            if self.cancel_requested:
                if cancel is None:
                    return pending
                cancel.set()
            if deadline is not None and time.monotonic() > deadline:
                return pending
            try:
                kind, payload = out.get(timeout=0.05)
            except queue.Empty:
                if not any(w.is_alive() for w in workers):
                    return pending
                if self.started_mono:
                    self._tick()
                continue
            if kind == "tally":
                source, tally, settled = payload
                self._absorb(source, tally, settled)
            elif kind == "failed":
                self.log(f"worker process failed: {payload}")
                pending -= 1
                self._forget_dead(workers)
            elif kind == until:
                pending -= 1
            if self.started_mono:
                self._tick()
        return 0

    def _forget_dead(self, workers: Sequence[Any]) -> None:
        """A worker process that died sends nothing more: its seconds wait no longer."""
        if not any(w.is_alive() for w in workers):
            self.settled = dict.fromkeys(self.settled, math.inf)

    def _judge_gate(self) -> None:
        """--gate: hold while a gate rule blocks, end the run on an abort rule."""
        reading = self.gauge.latest if self.gauge is not None else None
        if reading is None or self.hold is None:
            return
        if reading.abort and not self.aborted:
            self.aborted = reading.abort
            self.log(f"abort rule {reading.abort}: stopping")
            self.cancel()
            return
        now = time.monotonic()
        if reading.hold and self.held_since is None:
            self.held_since = now
            self.hold.set()
            self.log(f"held by the gate: {reading.hold}")
        elif not reading.hold and self.held_since is not None:
            self.held_s += now - self.held_since
            self.log(f"gate GO again: going on after {now - self.held_since:.1f} s held")
            self.held_since = None
            self.hold.clear()

    def _tick(self) -> None:
        self._judge_gate()
        elapsed = time.monotonic() - self.started_mono
        with self.stats_lock:
            settled = min(self.settled.values(), default=math.inf)
        # Second k (from k to k+1 s) is final once every operation scheduled in it is counted.
        if settled != math.inf:
            self._report_until(int(settled) - 1)
        spec = self.spec
        if spec.transactions:
            # Read under the stats lock, reported outside it: a snapshot takes the job's lock
            # and then this one (result_rows), so never this one and then the job's.
            with self.stats_lock:
                done = self.tally.done
            self.progress(done)
        else:
            self.progress(min(elapsed, spec.duration_s or 0))

    def _absorb(self, source: int, tally: Tally, settled: float) -> None:
        with self.stats_lock:
            self.tally.merge(tally)
            self.settled[source] = settled

    # -- numbers ----------------------------------------------------------------------------------

    def result_rows(self) -> tuple[Mapping[str, Any], ...]:
        """A row per transaction (or operation) kind over the run so far, worst p99 first:
        the Throughput screen's table of kinds, and the rows of a recording's export."""
        with self.stats_lock:
            elapsed = time.monotonic() - self.started_mono if self.started_mono else 0.0
            kinds = set(self.tally.by_kind) | set(self.tally.operation_errors)
            rows: list[dict[str, Any]] = []
            for kind in kinds:
                h = self.tally.by_kind.get(kind)

                def ms(q: float, h: Any = h) -> float | None:
                    v = h.percentile(q) if h is not None else None
                    return round(v / 1000, 3) if v is not None else None

                done = h.total if h is not None else 0
                rows.append({
                    "kind": kind,
                    "tx": done,
                    "tx_per_s": round(done / elapsed, 2) if elapsed > 0 else None,
                    "p50_ms": ms(50),
                    "p95_ms": ms(95),
                    "p99_ms": ms(99),
                    "errors": self.tally.operation_errors.get(kind, 0),
                })
        rows.sort(key=lambda r: -(r["p99_ms"] or 0))
        return tuple(rows)

    def _report_until(self, last: int | None) -> None:
        """Samples and a log line for each whole second up to `last`; None: every second left,
        the run's unfinished last second recorded as a sample but not logged."""
        with self.stats_lock:
            if last is None:
                last = max(self.tally.seconds, default=-1)
                partial = int(time.monotonic() - self.started_mono) if self.started_mono else -1
            else:
                partial = -1
            # A copy of what is reported: nothing can land in a final second any more, and
            # the copy is what the reported figures are checked against.
            seconds = {
                k: copy.deepcopy(v)
                for k, v in self.tally.seconds.items()
                if self.reported <= k <= last
            }
        while self.reported <= last:
            stats = seconds.get(self.reported) or SecondStats()
            self.reported_seconds[self.reported] = stats
            self._report_second(self.reported, stats, partial=self.reported == partial)
            self.reported += 1

    def _report_second(self, index: int, stats: SecondStats, *, partial: bool) -> None:
        at = time.time() - (time.monotonic() - self.started_mono - (index + 1))
        h = stats.histogram
        self.record("achieved", float(stats.done), at)
        if self.spec.target_tps:
            self.record("target", float(self.spec.target_tps), at)
        for q in (50, 95, 99):
            value = h.percentile(q)
            if value is not None:
                self.record(f"p{q}_ms", value / 1000, at)
        # Each transaction kind's own second: its count, p99 and errors (series "KIND.tx",
        # "KIND.p99_ms", "KIND.errors"), for the Throughput screen and the record.
        for kind in self.spec.mix:
            kind_h = stats.by_kind.get(kind)
            self.record(f"{kind}.tx", float(kind_h.total if kind_h else 0), at)
            p99 = kind_h.percentile(99) if kind_h else None
            if p99 is not None:
                self.record(f"{kind}.p99_ms", p99 / 1000, at)
            errors = stats.errors_by_kind.get(kind, 0)
            if errors:
                self.record(f"{kind}.errors", float(errors), at)
        if not partial:
            p = [h.percentile(q) for q in (50, 95, 99)]
            shown = " ".join(
                f"p{q} {v / 1000:.2f}ms" if v else f"p{q} -"
                for q, v in zip((50, 95, 99), p, strict=True)
            )
            self.log(f"second {index + 1}: {stats.done} tx, {shown}, {stats.errors} errors")

    def summary_json(self, elapsed: float) -> dict[str, Any]:
        with self.stats_lock:
            tally = self.tally
            done = tally.done
            errors = sum(tally.errors.values())
            h = tally.overall

            def ms(q: float) -> float | None:
                v = h.percentile(q)
                return round(v / 1000, 3) if v is not None else None

            return {
                "engine": "builtin",
                "pattern": self.spec.pattern,
                "table": self.spec.table,
                "dataset": self.spec.table if self.spec.script is not None else None,
                "skew": f"zipf:{self.spec.skew:g}" if self.spec.skew else "uniform",
                "connections": self.spec.connections,
                "processes": self.processes,
                "target_tps": self.spec.target_tps,
                "achieved_tps": round(done / elapsed, 2) if elapsed > 0 else 0.0,
                "transactions": done,
                "errors": errors,
                "errors_by_kind": dict(tally.errors),
                "duration_s": round(elapsed, 3),
                "latency_ms": {
                    "p50": ms(50),
                    "p95": ms(95),
                    "p99": ms(99),
                    "max": ms(100),
                    "mean": round(h.mean_us / 1000, 3) if h.mean_us else None,
                },
                "latency_ms_by_operation": {
                    k: {
                        "p50": round((v.percentile(50) or 0) / 1000, 3),
                        "p95": round((v.percentile(95) or 0) / 1000, 3),
                        "p99": round((v.percentile(99) or 0) / 1000, 3),
                        "max": round(v.max_us / 1000, 3),
                    }
                    for k, v in tally.by_kind.items()
                },
                "operations": dict(tally.operations),
                "errors_by_operation": dict(tally.operation_errors),
                "connections_failed": sum(
                    n for k, n in tally.errors.items() if k.startswith(CONNECT_FAILED)
                ),
                "success_rate": round(done / (done + errors), 4) if done else 0.0,
            }

    @staticmethod
    def summary_pairs(result: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
        lat = result["latency_ms"]
        return (
            (
                "tps",
                f"{result['achieved_tps']:.1f}"
                + (f"/{result['target_tps']:g}" if result["target_tps"] else ""),
            ),
            ("tx", str(result["transactions"])),
            ("errors", str(result["errors"])),
            ("p50", f"{lat['p50']}ms"),
            ("p95", f"{lat['p95']}ms"),
            ("p99", f"{lat['p99']}ms"),
            ("max", f"{lat['max']}ms"),
        )
