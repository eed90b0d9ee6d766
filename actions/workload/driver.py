"""The builtin driver's engine room: connections that run the operations, open-loop, and the
tallies they count into. The same code runs in the job's own process (threads) or in worker
processes (one GIL each); a tally is plain data, so it crosses a process boundary as it is.

Open loop: with a target, each connection's k-th operation is due at start + k x interval;
latency is measured from when it was due, not from when it began, so a slow server shows as
latency (queueing included) and not as a quietly lower rate (no coordinated omission).
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import signal
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg
import pymysql
from psycopg import pq
from pymysql.constants import COMMAND

from clustertop.actions.workload.histogram import Histogram
from clustertop.actions.workload.script import ScriptData, ScriptOperations, Zipf
from clustertop.actions.workload.table import RANGE_LOOKBACK, TableShape, naive_utc, utc_now
from clustertop.collectors.connect import ConnectError, connect_mysql, connect_postgres
from clustertop.collectors.errors import close_quietly, error_kind, error_text
from clustertop.core.nodes import NodeSpec
from clustertop.core.workloads import Script

# LookupError: a transaction's SELECT ... into found no row (its key went away meanwhile).
DB_ERRORS = (pymysql.err.MySQLError, psycopg.Error, OSError, LookupError)
CONNECT_FAILED = "connect failed"  # the start of the error kind of a connection never opened
RECONNECT_PAUSE_S = 0.5  # between attempts to reach a server that went away
FLUSH_EVERY_S = 0.2  # how often connections hand their counts on: the live view's delay
# Keys a workload inserts start this far above the table's largest, one stride per connection,
# so no two connections (in any process) ever pick the same key.
KEY_HEADROOM = 1_000_000
ZIPF_KEYS = 1_000_000  # --skew on a table: the hottest keys among its first million


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
    processes: int = 0  # 0: decide from the rate (see worker_processes)
    # A transaction workload (the shop patterns, the config's custom ones): `mix` is then its
    # transactions' weights and `table` names its data set.
    script: Script | None = None
    skew: float | None = None  # zipf exponent for every key drawn; None: uniform

    @property
    def target(self) -> str:
        """What the run works on, as its logs and records say it."""
        return f"data set {self.table}" if self.script is not None else self.table


def worker_processes(spec: WorkloadSpec, cpus: int | None = None) -> int:
    """How many processes drive the connections. Python runs one thread at a time per process,
    so past a few thousand operations a second one process is the bottleneck; below that,
    starting processes costs more than it gives (bench/RESULTS.md has the measurements)."""
    if spec.processes:
        return max(1, min(spec.processes, spec.connections))
    cpus = cpus or os.cpu_count() or 1
    if spec.target_tps is not None and spec.target_tps <= 2000:
        return 1
    return max(1, min(spec.connections, cpus))


def transactions_for(spec: WorkloadSpec, index: int) -> int | None:
    """Connection `index`'s share of --transactions: fixed up front, so no counter is shared."""
    if spec.transactions is None:
        return None
    share, extra = divmod(spec.transactions, spec.connections)
    return share + (1 if index < extra else 0)


# -- counting ---------------------------------------------------------------------------------


@dataclass
class SecondStats:
    histogram: Histogram = field(default_factory=Histogram)
    done: int = 0
    errors: int = 0
    by_kind: dict[str, Histogram] = field(default_factory=dict)
    errors_by_kind: dict[str, int] = field(default_factory=dict)

    def merge(self, other: SecondStats) -> None:
        self.histogram.merge(other.histogram)
        self.done += other.done
        self.errors += other.errors
        for kind, histogram in other.by_kind.items():
            self.by_kind.setdefault(kind, Histogram()).merge(histogram)
        for kind, n in other.errors_by_kind.items():
            self.errors_by_kind[kind] = self.errors_by_kind.get(kind, 0) + n


@dataclass
class Tally:
    """Counts of some operations: overall, per kind, per second of the run. Mergeable."""

    overall: Histogram = field(default_factory=Histogram)
    by_kind: dict[str, Histogram] = field(default_factory=dict)
    operations: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)  # by the error's kind
    operation_errors: dict[str, int] = field(default_factory=dict)  # by transaction kind
    seconds: dict[int, SecondStats] = field(default_factory=dict)

    def record(self, kind: str, latency_us: float, second: int) -> None:
        bucket = Histogram.bucket(latency_us)
        self.overall.add(bucket, latency_us)
        kind_histogram = self.by_kind.get(kind)
        if kind_histogram is None:
            kind_histogram = self.by_kind[kind] = Histogram()
        kind_histogram.add(bucket, latency_us)
        self.operations[kind] = self.operations.get(kind, 0) + 1
        stats = self.seconds.get(second)
        if stats is None:
            stats = self.seconds[second] = SecondStats()
        stats.histogram.add(bucket, latency_us)
        stats.done += 1
        second_kind = stats.by_kind.get(kind)
        if second_kind is None:
            second_kind = stats.by_kind[kind] = Histogram()
        second_kind.add(bucket, latency_us)

    def error(self, kind: str, second: int, operation: str | None = None) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        stats = self.seconds.setdefault(second, SecondStats())
        stats.errors += 1
        if operation is not None:
            self.operation_errors[operation] = self.operation_errors.get(operation, 0) + 1
            stats.errors_by_kind[operation] = stats.errors_by_kind.get(operation, 0) + 1

    def merge(self, other: Tally) -> None:
        self.overall.merge(other.overall)
        for kind, histogram in other.by_kind.items():
            self.by_kind.setdefault(kind, Histogram()).merge(histogram)
        for kind, n in other.operations.items():
            self.operations[kind] = self.operations.get(kind, 0) + n
        for kind, n in other.errors.items():
            self.errors[kind] = self.errors.get(kind, 0) + n
        for kind, n in other.operation_errors.items():
            self.operation_errors[kind] = self.operation_errors.get(kind, 0) + n
        for second, stats in other.seconds.items():
            self.seconds.setdefault(second, SecondStats()).merge(stats)

    @property
    def done(self) -> int:
        return self.overall.total

    @property
    def empty(self) -> bool:
        return not self.overall.total and not self.errors


# -- statements on one connection -------------------------------------------------------------


class MySQLStatements:
    """Reads are sent as PyMySQL would send them, but their result packets are drained without
    being decoded: PyMySQL builds an object per column per result, which costs more CPU than
    the server spends on a point select. Writes go through the cursor (they need lastrowid)."""

    def __init__(self, node: NodeSpec, statement_timeout: float) -> None:
        self.conn = connect_mysql(node, connect_timeout=5, statement_timeout=statement_timeout)
        self.cursor = self.conn.cursor()

    def run(self, statement: str, args: Sequence[Any], *, returning: bool = False) -> Any:
        cur = self.cursor
        if not returning and statement.startswith("SELECT "):
            self._drain(cur.mogrify(statement, args))
            return None
        cur.execute(statement, args)
        if returning:
            return cur.lastrowid
        if cur.description:
            cur.fetchall()
        return None

    def _drain(self, query: str) -> int:
        """Run a query and read its result to the end: the row count, no values."""
        conn = self.conn
        # PyMySQL internals on purpose (see the class docstring); its stubs leave this one out.
        conn._execute_command(COMMAND.COM_QUERY, query.encode(conn.encoding))  # type: ignore[attr-defined]
        packet = conn._read_packet()  # an error packet raises here, as in PyMySQL itself
        if packet.is_ok_packet():
            return 0
        for _ in range(packet.read_length_encoded_integer()):
            conn._read_packet()  # column definitions
        conn._read_packet()  # their EOF
        rows = 0
        while not conn._read_packet().is_eof_packet():
            rows += 1
        return rows

    def fetch_one(self, statement: str, args: Sequence[Any]) -> tuple[Any, ...] | None:
        cur = self.cursor
        cur.execute(statement, args)
        row = cur.fetchone()
        cur.fetchall()
        return tuple(row) if row is not None else None

    def begin(self) -> None:
        self.conn.begin()

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        with contextlib.suppress(*DB_ERRORS):
            self.conn.rollback()

    def lost(self) -> bool:
        try:
            self.conn.ping(reconnect=False)
        except Exception:
            return True
        return False

    def close(self) -> None:
        close_quietly(self.conn)


class PostgresStatements:
    """Each statement prepared once on the server, then run through libpq directly: psycopg's
    cursor layer costs more CPU than the server spends on a point select, and on a shared
    machine the driver's CPU is the server's loss."""

    def __init__(self, node: NodeSpec, statement_timeout: float) -> None:
        self.conn = connect_postgres(node, connect_timeout=5, statement_timeout=statement_timeout)
        self.pgconn = self.conn.pgconn
        self.encoding = self.conn.info.encoding
        self.prepared: dict[str, bytes] = {}

    def _execute(self, statement: str, args: Sequence[Any]) -> pq.abc.PGresult:
        name = self.prepared.get(statement)
        if name is None:
            name = f"clustertop_{len(self.prepared)}".encode()
            self._check(self.pgconn.prepare(name, _numbered(statement).encode()))
            self.prepared[statement] = name
        # None is SQL NULL to libpq; psycopg's stub for exec_prepared leaves it out.
        params: list[Any] = [_as_text(a) for a in args]
        result = self.pgconn.exec_prepared(name, params)
        self._check(result)
        return result

    def run(self, statement: str, args: Sequence[Any], *, returning: bool = False) -> Any:
        result = self._execute(statement, args)
        if returning and result.ntuples:
            value = result.get_value(0, 0)
            return int(value) if value is not None else None
        return None

    def fetch_one(self, statement: str, args: Sequence[Any]) -> tuple[Any, ...] | None:
        """The first row as text: it is only ever passed back as a parameter."""
        result = self._execute(statement, args)
        if not result.ntuples:
            return None
        return tuple(
            None if (v := result.get_value(0, i)) is None else bytes(v).decode(self.encoding)
            for i in range(result.nfields)
        )

    def _command(self, text: bytes) -> None:
        self._check(self.pgconn.exec_(text))

    def begin(self) -> None:
        self._command(b"BEGIN")

    def commit(self) -> None:
        self._command(b"COMMIT")

    def rollback(self) -> None:
        if self.pgconn.status == pq.ConnStatus.OK:
            with contextlib.suppress(*DB_ERRORS):
                self._command(b"ROLLBACK")

    def _check(self, result: pq.abc.PGresult) -> None:
        if result.status not in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
            if self.pgconn.status != pq.ConnStatus.OK:
                raise psycopg.OperationalError("connection lost")
            raise psycopg.errors.error_from_result(result, encoding=self.encoding)

    def lost(self) -> bool:
        return self.pgconn.status != pq.ConnStatus.OK

    def close(self) -> None:
        close_quietly(self.conn)


def _numbered(statement: str) -> str:
    """%s placeholders to $1, $2, ..., and %% to %: the statement is written as PyMySQL
    takes it, so one text serves both engines."""
    parts = [p.replace("\0", "%") for p in statement.replace("%%", "\0").split("%s")]
    return parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], start=1))


def _as_text(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, datetime | date):
        return value.isoformat().encode()
    return str(value).encode()


def open_statements(
    node: NodeSpec, statement_timeout: float
) -> MySQLStatements | PostgresStatements:
    if node.family == "mysql":
        return MySQLStatements(node, statement_timeout)
    return PostgresStatements(node, statement_timeout)


# -- one connection's loop --------------------------------------------------------------------


Target = TableShape | ScriptData  # a table's mix, or a transaction workload's data


class ConnectionRunner:
    """One connection: its schedule, its random numbers, the rows it inserted (the only rows
    it deletes, so no foreign key objects), and its own tally behind its own lock. A
    transaction workload's draws and statements are its ScriptOperations'."""

    def __init__(self, spec: WorkloadSpec, target: Target, index: int, stop: threading.Event,
                 hold: Any = None):
        self.spec, self.index, self.stop = spec, index, stop
        self.script: ScriptOperations | None = None
        if isinstance(target, ScriptData):
            self.script = ScriptOperations(target, spec.node.family, index, spec.connections,
                                           spec.skew)
            self.shape = None
        else:
            self.shape = target
        self.key_zipf: Zipf | None = None
        # Set while the gate holds the run (--gate): no operation starts, none is owed after.
        self.hold = hold
        self.lock = threading.Lock()
        self.tally = Tally()
        self.statements: MySQLStatements | PostgresStatements | None = None
        self.started_mono = 0.0
        # Every operation scheduled before this time (seconds since the start) has completed
        # or failed and is in the tally: the seconds before it are final. An operation in
        # flight holds it at its own scheduled start; a finished runner sets it to infinity.
        self.settled_s = 0.0
        self.mine: list[int] = []
        shape = self.shape
        if shape is None:
            return
        self.next_key = shape.key_max + KEY_HEADROOM + index
        # The statements, built once: formatting them per operation is CPU on the hot path.
        self.select_sql = shape.select_sql()
        self.insert_sql = shape.insert_sql()
        self.delete_sql = shape.delete_sql()
        self.range_sql = shape.range_sql() if shape.time_column is not None else ""
        self.update_sql = {c.name: shape.update_sql(c) for c in (*shape.updatable, shape.key)}
        if spec.skew:
            span = max(1, shape.key_max - shape.key_min + 1)
            self.key_zipf = Zipf(min(span, ZIPF_KEYS), spec.skew)

    def take(self) -> tuple[Tally, float]:
        """The counts since the last take, and the time before which they are complete."""
        with self.lock:
            tally, self.tally = self.tally, Tally()
            settled = self.settled_s
            if settled != math.inf and self._idle_unthrottled:
                # Waiting for nothing: whatever comes next is scheduled from now on.
                settled = max(settled, time.monotonic() - self.started_mono)
        return tally, settled

    _idle_unthrottled = False

    def _error(
        self, exc: BaseException, kind: str | None = None, started: float | None = None,
        operation: str | None = None,
    ) -> None:
        when = started if started is not None else time.monotonic()
        second = int(when - self.started_mono) if self.started_mono else 0
        with self.lock:
            self.tally.error(kind or error_kind(exc), second, operation)

    def connect(self) -> None:
        try:
            self.statements = open_statements(self.spec.node, self.spec.statement_timeout)
        except (ConnectError, *DB_ERRORS) as exc:  # an error of the run; the others go on
            self._error(exc, f"{CONNECT_FAILED}: {error_text(exc)}"[:120])

    def run(self, started_mono: float) -> None:
        self.started_mono = started_mono
        statements: MySQLStatements | PostgresStatements | None = self.statements
        if statements is None:
            with self.lock:
                self.settled_s = math.inf  # never connected: nothing of it will come
            return
        spec, shape, stop = self.spec, self.shape, self.stop
        rng = random.Random(spec.seed * 1000 + self.index)
        if self.script is not None:
            kinds, weights = self.script.kinds, self.script.weights
        else:
            assert shape is not None
            kinds = [k for k in spec.mix if k != "range" or shape.time_column is not None]
            weights = [spec.mix[k] for k in kinds]
        only = kinds[0] if len(kinds) == 1 else None
        interval = spec.connections / spec.target_tps if spec.target_tps else 0.0
        # Spread the connections' schedules over one interval, so they do not fire together.
        due = started_mono + interval * self.index / spec.connections
        deadline = started_mono + spec.duration_s if spec.duration_s is not None else None
        quota = transactions_for(spec, self.index)
        done = 0
        monotonic = time.monotonic
        with self.lock:
            self.settled_s = due - started_mono
            self._idle_unthrottled = not interval
        try:
            while not stop.is_set():
                now = monotonic()
                if (deadline is not None and now >= deadline) or (
                    quota is not None and done >= quota
                ):
                    break
                if self.hold is not None and self.hold.is_set():
                    self._wait_out_hold(started_mono)
                    if interval:
                        due = max(due, monotonic())  # the held time is not owed: no burst
                    continue
                if interval:
                    if due > now and stop.wait(due - now):
                        break
                    start = due
                    due += interval
                else:
                    start = now
                # Open loop: an operation belongs to the second it was scheduled in, however
                # late it completes; that second stays open until it has.
                with self.lock:
                    self.settled_s = start - started_mono
                    self._idle_unthrottled = False
                kind = only or rng.choices(kinds, weights)[0]
                done += 1
                try:
                    if statements is None:  # the server went away: try it again
                        statements = self.statements = open_statements(
                            spec.node, spec.statement_timeout
                        )
                    if self.script is not None:
                        self.script.operate(statements, kind, rng)
                    else:
                        kind = self._operate(statements, kind, rng)
                except (ConnectError, *DB_ERRORS) as exc:
                    # Counted as an error of the run; while the server is away each attempt
                    # to reach it again is one, RECONNECT_PAUSE_S apart.
                    self._error(exc, started=start, operation=kind)
                    self._settle(due, interval, started_mono)
                    if statements is not None and statements.lost():
                        statements.close()
                        statements = self.statements = None
                    if statements is None and stop.wait(RECONNECT_PAUSE_S):
                        break
                    continue
                end = monotonic()
                with self.lock:
                    self.tally.record(kind, (end - start) * 1_000_000, int(start - started_mono))
                self._settle(due, interval, started_mono)
        finally:
            with self.lock:
                self.settled_s = math.inf
            if self.statements is not None:
                self.statements.close()

    def _existing_key(self, rng: random.Random) -> int:
        """A key of the table's loaded range: uniform, or with --skew the lowest hottest."""
        shape = self.shape
        assert shape is not None
        if self.key_zipf is not None:
            return shape.key_min + self.key_zipf.rank(rng)
        return rng.randint(shape.key_min, max(shape.key_min, shape.key_max))

    def _wait_out_hold(self, started_mono: float) -> None:
        """Nothing in flight while held: every second up to now is final."""
        while self.hold.is_set() and not self.stop.is_set():
            with self.lock:
                self.settled_s = time.monotonic() - started_mono
            self.stop.wait(0.05)

    def _settle(self, due: float, interval: float, started_mono: float) -> None:
        """Nothing in flight: the next operation is scheduled at `due` (throttled) or from
        now on (unthrottled)."""
        with self.lock:
            if interval:
                self.settled_s = due - started_mono
            else:
                self._idle_unthrottled = True
                self.settled_s = time.monotonic() - started_mono

    def _operate(
        self, statements: MySQLStatements | PostgresStatements, kind: str, rng: random.Random
    ) -> str:
        shape = self.shape
        assert shape is not None
        if kind == "select":
            statements.run(self.select_sql, (self._existing_key(rng),))
            return kind
        now = utc_now()
        stamp = naive_utc(now) if shape.family == "mysql" else now
        if kind == "delete" and not self.mine:
            kind = "insert"  # only its own rows are deleted: insert one first
        if kind == "insert":
            insert_key: int | None = None
            if not shape.key.generated:
                insert_key = self.next_key
                self.next_key += self.spec.connections
            values = shape.insert_values(rng, stamp, insert_key)
            new_key = statements.run(self.insert_sql, values, returning=True)
            self.mine.append(int(insert_key if insert_key is not None else new_key))
        elif kind == "update":
            column = rng.choice(shape.updatable) if shape.updatable else shape.key
            target = (
                rng.choice(self.mine)
                if self.mine and rng.random() < 0.5
                else self._existing_key(rng)
            )
            statements.run(self.update_sql[column.name], (column.random_value(rng, stamp), target))
        elif kind == "delete":
            victim = self.mine.pop(rng.randrange(len(self.mine)))
            statements.run(self.delete_sql, (victim,))
        else:
            statements.run(self.range_sql, (stamp - RANGE_LOOKBACK,))
        return kind


# -- a group of connections in one process ----------------------------------------------------


class ConnectionGroup:
    """Some of the run's connections, a thread each, their tallies handed to `sink` every
    FLUSH_EVERY_S and once more at the end."""

    def __init__(self, spec: WorkloadSpec, target: Target, indices: Sequence[int],
                 hold: Any = None) -> None:
        self.stop = threading.Event()
        self.runners = [ConnectionRunner(spec, target, i, self.stop, hold) for i in indices]

    def connect(self) -> None:
        for runner in self.runners:
            runner.connect()

    def run(
        self,
        started_mono: float,
        sink: Callable[[Tally, float], None],
        cancelled: Callable[[], bool],
    ) -> None:
        threads = [
            threading.Thread(
                target=r.run, args=(started_mono,), name=f"workload-conn-{r.index}", daemon=True
            )
            for r in self.runners
        ]
        for t in threads:
            t.start()
        try:
            while any(t.is_alive() for t in threads):
                until = time.monotonic() + FLUSH_EVERY_S
                for t in threads:
                    t.join(max(0.0, until - time.monotonic()))
                if cancelled():
                    self.stop.set()
                self._flush(sink)
        finally:
            self.stop.set()
            for t in threads:
                t.join(10)
            self._flush(sink)

    def _flush(self, sink: Callable[[Tally, float], None]) -> None:
        """The counts of every connection, and the time before which all of them are final
        (the earliest of the connections')."""
        merged = Tally()
        settled = math.inf
        for runner in self.runners:
            tally, runner_settled = runner.take()
            merged.merge(tally)
            settled = min(settled, runner_settled)
        sink(merged, settled)


def process_main(
    spec: WorkloadSpec,
    target: Target,
    indices: Sequence[int],
    start: Any,
    go: Any,
    cancel: Any,
    out: Any,
    hold: Any = None,
) -> None:
    """A worker process: connect, say ready, wait for the common start, run, say done. Every
    outcome is a message; nothing is printed (the parent may own a full-screen terminal)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when the run stops
    parent = os.getppid()

    def cancelled() -> bool:
        return cancel.is_set() or os.getppid() != parent

    try:
        group = ConnectionGroup(spec, target, indices, hold)
        group.connect()
        out.put(("ready", None))
        while not go.wait(FLUSH_EVERY_S):
            if cancelled():
                group.stop.set()
                break
        source = indices[0] if indices else 0
        group.run(
            start.value,
            lambda tally, settled: out.put(("tally", (source, tally, settled))),
            cancelled,
        )
        out.put(("done", None))
    except BaseException:
        with contextlib.suppress(Exception):
            out.put(("failed", traceback.format_exc(limit=3).strip().splitlines()[-1]))
