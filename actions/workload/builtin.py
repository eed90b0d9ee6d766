"""The builtin workload driver: N connections in threads, open-loop rate control, latency per
operation in histograms, per-second samples, and a summary.

Open loop: with a target, each connection's k-th operation is due at start + k x interval;
latency is measured from when it was due, not from when it began, so a slow server shows as
latency (queueing included) and not as a quietly lower rate (no coordinated omission).
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pymysql

from actions.jobs import Job
from actions.workload.histogram import Histogram
from actions.workload.table import RANGE_LOOKBACK, TableShape, describe_table, naive_utc, utc_now
from collectors.connect import connect_mysql, connect_postgres
from collectors.errors import close_quietly
from collectors.nodes import NodeSpec

DB_ERRORS = (pymysql.err.MySQLError, psycopg.Error, OSError)


@dataclass(frozen=True)
class WorkloadSpec:
    node: NodeSpec
    table: str
    pattern: str
    mix: Mapping[str, int]
    connections: int = 4
    target_tps: float | None = None
    duration_s: float | None = 10.0
    transactions: int | None = None
    seed: int = 1
    statement_timeout: float = 5.0


@dataclass
class SecondStats:
    histogram: Histogram = field(default_factory=Histogram)
    done: int = 0
    errors: int = 0


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
    def __init__(self, spec: WorkloadSpec, cluster: str) -> None:
        super().__init__(**workload_job_fields(spec, cluster, "builtin"))
        self.spec = spec
        self.stats_lock = threading.Lock()
        self.overall = Histogram()
        self.by_kind: dict[str, Histogram] = {}
        self.operations: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.seconds: dict[int, SecondStats] = {}
        self.started_mono = 0.0
        self.claimed = 0  # operations handed out, so --transactions is never exceeded
        self.result: dict[str, Any] | None = None

    # -- the job ----------------------------------------------------------------------------------

    def run(self) -> Sequence[tuple[str, str]]:
        spec = self.spec
        probe = self._connect()
        try:
            shape = describe_table(probe, spec.node.family, spec.table, spec.node.database)
        finally:
            close_quietly(probe)
        total = spec.transactions
        self.progress(0, float(total) if total else spec.duration_s)
        self.log(
            f"{spec.connections} connections on {spec.node.address}, {spec.table}, "
            f"mix {dict(spec.mix)}, target {spec.target_tps or 'unthrottled'}"
        )
        self.started_mono = time.monotonic()
        next_key = [shape.key_max + 1_000_000]
        key_lock = threading.Lock()
        workers = [
            threading.Thread(
                target=self._worker,
                args=(i, shape, next_key, key_lock),
                name=f"workload-{self.id}-{i}",
                daemon=True,
            )
            for i in range(spec.connections)
        ]
        for w in workers:
            w.start()
        reported = 0
        try:
            while any(w.is_alive() for w in workers):
                time.sleep(0.05)
                now_s = int(time.monotonic() - self.started_mono)
                while reported < now_s:
                    self._report_second(reported)
                    reported += 1
                done = sum(self.operations.values())
                if spec.transactions:
                    self.progress(done)
                else:
                    self.progress(min(time.monotonic() - self.started_mono, spec.duration_s or 0))
        finally:
            for w in workers:
                w.join(10)
        elapsed = time.monotonic() - self.started_mono
        self._report_second(reported, partial=True)
        self.result = self.summary_json(elapsed)
        self.summary = self.summary_pairs(self.result)  # kept when the run was cancelled too
        self.check_cancelled()
        return self.summary

    def _connect(self) -> Any:
        node, timeout = self.spec.node, self.spec.statement_timeout
        if node.family == "mysql":
            return connect_mysql(node, connect_timeout=5, statement_timeout=timeout)
        return connect_postgres(node, connect_timeout=5, statement_timeout=timeout)

    def _claim(self) -> bool:
        """May this worker run one more operation?"""
        spec = self.spec
        if self.cancel_requested:
            return False
        if spec.duration_s is not None and time.monotonic() - self.started_mono >= spec.duration_s:
            return False
        if spec.transactions is not None:
            with self.stats_lock:
                if self.claimed >= spec.transactions:
                    return False
                self.claimed += 1
        return True

    def _worker(
        self, index: int, shape: TableShape, next_key: list[int], key_lock: threading.Lock
    ) -> None:
        spec = self.spec
        rng = random.Random(spec.seed * 1000 + index)
        kinds = [k for k in spec.mix if k != "range" or shape.time_column is not None]
        weights = [spec.mix[k] for k in kinds]
        interval = spec.connections / spec.target_tps if spec.target_tps else 0.0
        # Spread the connections' schedules over one interval, so they do not fire together.
        due = self.started_mono + interval * index / spec.connections
        mine: list[int] = []  # keys this connection inserted: the only rows it deletes
        try:
            conn = self._connect()
        except Exception as exc:  # the job reports it; other connections go on
            self._error(exc)
            return
        try:
            while self._claim():
                if interval:
                    wait = due - time.monotonic()
                    if wait > 0 and self._cancel.wait(wait):
                        break
                    start = due
                    due += interval
                else:
                    start = time.monotonic()
                kind = rng.choices(kinds, weights)[0]
                try:
                    kind = self._operate(conn, shape, kind, rng, mine, next_key, key_lock)
                except DB_ERRORS as exc:
                    self._error(exc)
                    if _connection_lost(conn, shape.family):
                        close_quietly(conn)
                        conn = self._connect()
                    continue
                self._done(kind, (time.monotonic() - start) * 1_000_000)
        finally:
            close_quietly(conn)

    def _operate(
        self,
        conn: Any,
        shape: TableShape,
        kind: str,
        rng: random.Random,
        mine: list[int],
        next_key: list[int],
        key_lock: threading.Lock,
    ) -> str:
        now = utc_now()
        stamp = naive_utc(now) if shape.family == "mysql" else now
        if kind == "delete" and not mine:
            kind = "insert"  # only its own rows are deleted: insert one first
        if kind == "select":
            _run(
                conn,
                shape.family,
                shape.select_sql(),
                (rng.randint(shape.key_min, max(shape.key_min, shape.key_max)),),
            )
        elif kind == "insert":
            key = None
            if not shape.key.generated:
                with key_lock:
                    key = next_key[0]
                    next_key[0] += 1
            values = shape.insert_values(rng, stamp, key)  # type: ignore[arg-type]
            new_key = _run(conn, shape.family, shape.insert_sql(), values, returning=True)
            mine.append(int(key if key is not None else new_key))
        elif kind == "update":
            column = rng.choice(shape.updatable) if shape.updatable else shape.key
            target = (
                rng.choice(mine)
                if mine and rng.random() < 0.5
                else rng.randint(shape.key_min, max(shape.key_min, shape.key_max))
            )
            _run(
                conn,
                shape.family,
                shape.update_sql(column),
                (column.random_value(rng, stamp), target),
            )  # type: ignore[arg-type]
        elif kind == "delete":
            _run(conn, shape.family, shape.delete_sql(), (mine.pop(rng.randrange(len(mine))),))
        else:
            since = stamp - RANGE_LOOKBACK
            _run(conn, shape.family, shape.range_sql(), (since,))
        return kind

    # -- numbers ----------------------------------------------------------------------------------

    def _second(self) -> SecondStats:
        return self.seconds.setdefault(int(time.monotonic() - self.started_mono), SecondStats())

    def _done(self, kind: str, latency_us: float) -> None:
        with self.stats_lock:
            self.overall.record(latency_us)
            self.by_kind.setdefault(kind, Histogram()).record(latency_us)
            self.operations[kind] += 1
            second = self._second()
            second.histogram.record(latency_us)
            second.done += 1

    def _error(self, exc: BaseException) -> None:
        args = getattr(exc, "args", ())
        code = (
            args[0]
            if isinstance(exc, pymysql.err.MySQLError) and args
            else getattr(exc, "sqlstate", None)
        )
        with self.stats_lock:
            self.errors[f"{type(exc).__name__}" + (f" {code}" if code else "")] += 1
            self._second().errors += 1

    def _report_second(self, index: int, *, partial: bool = False) -> None:
        with self.stats_lock:
            stats = self.seconds.get(index)
        if stats is None:
            return
        at = time.time() - (time.monotonic() - self.started_mono - (index + 1))
        h = stats.histogram
        self.record("achieved", float(stats.done), at)
        if self.spec.target_tps:
            self.record("target", float(self.spec.target_tps), at)
        for q in (50, 95, 99):
            value = h.percentile(q)
            if value is not None:
                self.record(f"p{q}_ms", value / 1000, at)
        if not partial:
            p = [h.percentile(q) for q in (50, 95, 99)]
            shown = " ".join(
                f"p{q} {v / 1000:.2f}ms" if v else f"p{q} -"
                for q, v in zip((50, 95, 99), p, strict=True)
            )
            self.log(f"second {index + 1}: {stats.done} tx, {shown}, {stats.errors} errors")

    def summary_json(self, elapsed: float) -> dict[str, Any]:
        with self.stats_lock:
            done = sum(self.operations.values())
            h = self.overall

            def ms(q: float) -> float | None:
                v = h.percentile(q)
                return round(v / 1000, 3) if v is not None else None

            return {
                "engine": "builtin",
                "pattern": self.spec.pattern,
                "table": self.spec.table,
                "connections": self.spec.connections,
                "target_tps": self.spec.target_tps,
                "achieved_tps": round(done / elapsed, 2) if elapsed > 0 else 0.0,
                "transactions": done,
                "errors": sum(self.errors.values()),
                "errors_by_kind": dict(self.errors),
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
                        "p99": round((v.percentile(99) or 0) / 1000, 3),
                    }
                    for k, v in self.by_kind.items()
                },
                "operations": dict(self.operations),
                "success_rate": round(done / (done + sum(self.errors.values())), 4)
                if done
                else 0.0,
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


def _run(
    conn: Any, family: str, statement: str, args: Sequence[Any], *, returning: bool = False
) -> Any:
    if family == "mysql":
        with conn.cursor() as cur:
            cur.execute(statement, args)
            if returning:
                return cur.lastrowid
            if cur.description:
                cur.fetchall()
        return None
    cur = conn.execute(statement, args)
    if cur.description:
        rows = cur.fetchall()
        if returning and rows:
            return rows[0][0]
    return None


def _connection_lost(conn: Any, family: str) -> bool:
    with contextlib.suppress(Exception):
        if family == "mysql":
            conn.ping(reconnect=False)
            return False
        return bool(conn.closed or conn.broken)
    return True
