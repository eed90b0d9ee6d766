"""Polling every node in its own thread, with deadlines, so one dead node never stalls the rest.

Each node has one session: a connection, a collector, counters for rates, a heartbeat writer
(on a primary) and a slower detail reader with its own connection. A round starts one thread
per idle node and waits until a deadline; a node whose thread is still busy from an earlier
round is not polled again (polls of a node never overlap) and reads as DOWN meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import psycopg
import pymysql

from clustertop.collectors.connect import ConnectError
from clustertop.collectors.detail import DetailReader
from clustertop.collectors.engines import adapter_for
from clustertop.collectors.errors import MissingPrivilege, close_quietly, error_text
from clustertop.collectors.heartbeat import HeartbeatWriter
from clustertop.collectors.lag import catchup_rate, heartbeat_lag
from clustertop.collectors.probe import ConnectionProbe
from clustertop.collectors.rates import CounterRates
from clustertop.collectors.samples import (
    NodeReading,
    NodeSample,
    PollRound,
    ReplicationSample,
    ThroughputSample,
)
from clustertop.core.nodes import NodeSpec

MAX_BACKOFF_S = 5.0
CATCHUP_WINDOW_S = 5.0
UNWAITED_GRACE_S = 0.05  # how long a round waits for a node that was down last round
WRITER_ROLES = ("primary", "coordinator")
DB_ERRORS = (
    pymysql.err.MySQLError, psycopg.Error, OSError, AssertionError, ConnectError, MissingPrivilege
)


@dataclass(frozen=True)
class PollTarget:
    """A node plus how to poll it; built by the caller from its config, so collectors/ never
    needs to know the config format."""

    spec: NodeSpec
    connect_timeout: float = 0.8
    statement_timeout: float = 0.8
    heartbeat_table: str | None = "clustertop.heartbeat"
    # 0.2 s keeps the lag right to 0.1 s (see _fresh_heartbeat) at half the cost of 0.1 s.
    heartbeat_interval: float = 0.2
    watched_tables: tuple[str, ...] = ()
    detail_interval: float = 5.0
    detail_timeout: float = 10.0
    # A fresh connection this often says whether the node still lets anyone new in; None:
    # never (a cleanup's gauge, which judges lag and load, not admissions).
    probe_interval: float | None = 2.0
    show_literals: bool = False  # statements of sessions as they are, literals and all
    # The sessions and who blocks whom, every poll; off where nothing reads them (a cleanup's
    # gauge without a sessions rule): a query over every backend the application need not pay.
    read_sessions: bool = True


def _same_address(address: str, source: str | None) -> bool:
    if source is None:
        return False
    if address == source:
        return True
    loopback = ("127.0.0.1", "localhost", "::1")
    host, _, port = address.rpartition(":")
    s_host, _, s_port = source.rpartition(":")
    return port == s_port and host in loopback and s_host in loopback


class NodeSession:
    """One node's connection, collector and derived state; used by one thread at a time."""

    def __init__(self, target: PollTarget) -> None:
        self.discovered = False  # added from pg_dist_node, not from the config
        self.target = target
        self.spec = target.spec
        self.conn: Any = None
        self.collector = adapter_for(target.spec).collector(target.heartbeat_table)
        self.collector.show_literals = target.show_literals
        self.collector.read_sessions = target.read_sessions
        self.rates = CounterRates()
        self.detail = DetailReader(target)
        self.probe = ConnectionProbe(target)
        self.writer: HeartbeatWriter | None = None
        self.lag_history: dict[str, deque[tuple[float, float]]] = {}
        self.backoff = 0.0
        self.next_attempt = 0.0
        self.last_error: str | None = None
        self.thread: threading.Thread | None = None
        self.started_at = 0.0
        self.result: NodeSample | None = None
        self.peers: Sequence[NodeSession] = ()
        self.shut_down = False
        self.writer_lock = threading.Lock()

    def down_sample(
        self,
        at: float,
        error: str,
        started: float,
        retry_in_s: float | None = None,
        *,
        remember: bool = True,
    ) -> NodeSample:
        """A DOWN sample; `remember` records the error as the node's last (only from the
        node's own thread, or while it has none running)."""
        if remember:
            self.last_error = error
        return NodeSample(
            cluster=self.spec.cluster,
            node=self.spec.name,
            engine=self.spec.engine,
            address=self.spec.address,
            at=at,
            up=False,
            error=error,
            role=self.spec.role_hint,
            poll_ms=(time.perf_counter() - started) * 1000,
            retry_in_s=retry_in_s,
            # What was read before it went down, with its time: screens say how old it is.
            detail=self.detail.latest,
        )

    def collect(self) -> NodeSample:
        at = time.time()
        started = time.perf_counter()
        if self.conn is None:
            if time.monotonic() < self.next_attempt:
                wait = self.next_attempt - time.monotonic()
                return self.down_sample(at, self.last_error or "down", started, retry_in_s=wait)
            try:
                self.conn = adapter_for(self.spec).connect(
                    self.spec,
                    connect_timeout=self.target.connect_timeout,
                    statement_timeout=self.target.statement_timeout,
                )
            except ConnectError as exc:
                self.backoff = min(MAX_BACKOFF_S, max(0.5, self.backoff * 2))
                self.next_attempt = time.monotonic() + self.backoff
                return self.down_sample(at, str(exc), started)
            self.backoff = 0.0
            self.rates.forget()
        queries_before = self.collector.queries
        read_at = time.monotonic()
        try:
            reading = self.collector.read(self.conn)
        except DB_ERRORS as exc:
            self.close()
            return self.down_sample(at, error_text(exc), started)
        self.last_error = None
        status = reading.status
        self._manage_writer(status.role)
        throughput, hit = self._throughput(reading, status.replication, read_at)
        replication = tuple(
            self._with_catchup(self._fresh_heartbeat(r)) for r in status.replication
        )
        self.detail.maybe_start()
        if self.target.probe_interval is not None:
            self.probe.maybe_start()
        probe = self.probe.current()
        detail = self.detail.latest
        return NodeSample(
            cluster=self.spec.cluster,
            node=self.spec.name,
            engine=self.spec.engine,
            address=self.spec.address,
            at=at,
            up=True,
            poll_ms=(time.perf_counter() - started) * 1000,
            queries=self.collector.queries - queries_before,
            cache_hit_ratio=hit,
            throughput=throughput,
            heartbeat_writer=self._writer_state(),
            detail=detail,
            unknown=status.unknown + (detail.unknown if detail is not None else ()),
            accepting_connections=probe.accepting if probe else None,
            accept_error=probe.error if probe else None,
            sessions=reading.sessions,
            probe_ms=reading.probe_ms,
            transactions_total=reading.counters.get("transactions"),
            queries_total=reading.counters.get("queries"),
            version=status.version,
            role=status.role,
            server_id=status.server_id,
            uptime_s=status.uptime_s,
            connections=status.connections,
            max_connections=status.max_connections,
            active=status.active,
            replication=replication,
            senders=status.senders,
            slots=status.slots,
        )

    # -- derived figures ------------------------------------------------------------------------

    def _source_writes(self, replication: Sequence[ReplicationSample]) -> float:
        """Heartbeat writes of our own that a MySQL replica applies, and counts, as commits."""
        if not adapter_for(self.spec).replica_counts_applied_commits:
            return 0.0  # a standby's xact_commit does not count replayed transactions
        total = 0.0
        for rep in replication:
            writer = self._source_writer(rep)
            if writer is not None:
                total += writer.writes
        return total

    def _own_totals(
        self, trx_metrics: bool, replication: Sequence[ReplicationSample], read_at: float
    ) -> dict[str, float]:
        """Running totals of what clustertop itself added to the transaction and query counters,
        so that rates show the workload's activity and not the monitor's. The detail thread
        runs beside the poll: only what it sent before the counters were read is counted."""
        writes = float(self.writer.writes) if self.writer else 0.0
        fast, detail = self.collector.activity, self.detail.collector.activity
        probe = self.probe.activity

        def own(kind: str) -> float:
            return float(
                fast.total(kind) + detail.before(kind, read_at) + probe.before(kind, read_at)
            )

        queries = own("queries") + writes
        if not adapter_for(self.spec).replica_counts_applied_commits:
            own_tx = own("transactions") + writes
        else:
            # A replica's applier commits our heartbeat writes, and both counters see that;
            # only InnoDB's trx counters see our own autocommit writes and InnoDB reads.
            own_tx = self._source_writes(replication)
            if trx_metrics:
                own_tx += own("innodb_reads") + writes
        # Rows our exact counts read (the detail pass): out of Read/s.
        return {"transactions": own_tx, "queries": queries, "rows_read": own("rows_read")}

    def _throughput(
        self, reading: NodeReading, replication: Sequence[ReplicationSample], read_at: float
    ) -> tuple[ThroughputSample | None, float | None]:
        counters = reading.counters
        own = self._own_totals(reading.trx_metrics, replication, read_at)
        # The counters were read at the start of the read, not when it returned.
        rates = self.rates.update(read_at, counters, own)
        requests, misses = counters.get("cache_requests"), counters.get("cache_misses")
        hit = None
        if requests:
            hit = 1 - (misses or 0) / requests  # since start, until there is an interval
        if rates is None:
            return None, hit
        r = rates.per_second
        if r.get("cache_requests"):
            hit = 1 - (r.get("cache_misses") or 0) / r["cache_requests"]  # type: ignore[operator]
        return (
            ThroughputSample(
                interval_s=rates.interval_s,
                tps=r.get("transactions"),
                qps=r.get("queries"),
                rows_read_ps=r.get("rows_read"),
                rows_inserted_ps=r.get("rows_inserted"),
                rows_updated_ps=r.get("rows_updated"),
                rows_deleted_ps=r.get("rows_deleted"),
                log_bytes_ps=r.get("log_bytes"),
                tps_source=reading.tps_source,
                reset=rates.reset,
                rollbacks_ps=r.get("rollbacks"),
            ),
            hit,
        )

    def _source_writer(self, rep: ReplicationSample) -> HeartbeatWriter | None:
        for peer in self.peers:
            if peer.writer is not None and _same_address(peer.spec.address, rep.source):
                return peer.writer
        return None

    def _fresh_heartbeat(self, rep: ReplicationSample) -> ReplicationSample:
        """A heartbeat row left from before our writer started says nothing about now: the
        replica is then behind by at least the time since our first write, and that is the
        figure shown until it applies that write."""
        if rep.heartbeat_at is None or rep.heartbeat_lag_s is None:
            return rep
        writer = self._source_writer(rep)
        if writer is None:
            source_is_ours = any(
                p.target.heartbeat_table and _same_address(p.spec.address, rep.source)
                for p in self.peers
            )
            if not source_is_ours:
                return rep  # someone else (pt-heartbeat, another clustertop) keeps it fresh
        estimate = heartbeat_lag(
            rep.heartbeat_at,
            rep.heartbeat_lag_s,
            writer.started_at if writer is not None else None,
            writer.interval if writer is not None else 0.0,
            shared=writer.shared if writer is not None else False,
        )
        return replace(
            rep,
            heartbeat_lag_s=estimate.lag_s,
            heartbeat_lower_bound=estimate.lower_bound,
            heartbeat_error=estimate.error or rep.heartbeat_error,
        )

    def _with_catchup(self, rep: ReplicationSample) -> ReplicationSample:
        lag = rep.lag_s
        key = f"{rep.channel}|{rep.source}"
        history = self.lag_history.setdefault(key, deque(maxlen=64))
        now = time.monotonic()
        if lag is None:
            history.clear()
            return rep
        history.append((now, lag))
        while history and now - history[0][0] > CATCHUP_WINDOW_S:
            history.popleft()
        rate = catchup_rate(history)
        return rep if rate is None else replace(rep, catchup_rate=rate)

    # -- heartbeat ------------------------------------------------------------------------------

    def _manage_writer(self, role: str) -> None:
        if not self.target.heartbeat_table:
            return
        with self.writer_lock:
            # A poll still running when the poller closed must not start a writer again.
            if self.shut_down:
                return
            if role in WRITER_ROLES:
                if self.writer is None:
                    self.writer = HeartbeatWriter(
                        self.spec,
                        self.target.heartbeat_table,
                        interval=self.target.heartbeat_interval,
                        connect_timeout=self.target.connect_timeout,
                        statement_timeout=self.target.statement_timeout,
                    )
                self.writer.start()
            elif self.writer is not None:
                self.writer.stop()

    def _writer_state(self) -> str | None:
        if self.writer is None or not self.writer.running:
            return None
        if self.writer.error:
            return f"error: {self.writer.error}"
        return f"writing every {self.writer.interval:g} s"

    # -- threads --------------------------------------------------------------------------------

    def run_in_thread(self) -> None:
        def target() -> None:
            try:
                self.result = self.collect()
            except Exception as exc:  # a bug must show as an error on the node, not hang it
                self.close()
                self.result = self.down_sample(time.time(), error_text(exc), time.perf_counter())

        self.result = None
        self.started_at = time.monotonic()
        self.thread = threading.Thread(target=target, name=f"poll-{self.spec.key}", daemon=True)
        self.thread.start()

    @property
    def busy(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def abort(self) -> None:
        """Unblock a call stuck on a server that stopped answering: shut its socket down."""
        adapter_for(self.spec).cut_off(self.conn)

    def close(self) -> None:
        conn, self.conn = self.conn, None
        close_quietly(conn)

    def shutdown(self) -> None:
        with self.writer_lock:
            self.shut_down = True
        if self.writer is not None:
            self.writer.stop()
        if self.busy:
            self.abort()
        else:
            self.close()
        self.detail.close()
        self.probe.close()


class Poller:
    """Collects one round at a time from every node; call poll_round() from one thread."""

    def __init__(self, targets: Sequence[PollTarget], round_timeout: float | None = None) -> None:
        self.sessions = [NodeSession(t) for t in targets]
        readers: dict[tuple[object, ...], DetailReader] = {}
        for session in self.sessions:
            session.peers = self.sessions
            # One detail reader per server and table set: the same server listed twice (or
            # fifty times) is not read twice, which would only add load on it.
            t = session.target
            key = (t.spec.host, t.spec.port, t.spec.database, t.watched_tables)
            session.detail = readers.setdefault(key, session.detail)
        longest = max((t.connect_timeout + t.statement_timeout for t in targets), default=1.0)
        # A round waits for the slowest healthy node, never longer.
        self.round_timeout = round_timeout if round_timeout is not None else longest + 0.2

    def discover_citus_workers(self) -> None:
        """Follow pg_dist_node: a worker a coordinator lists that no session polls gets one
        (reached as the coordinator is: its user, database and password source), and a
        worker found this way that has left pg_dist_node is no longer polled. Configured
        nodes are always kept."""
        known = {(s.target.spec.cluster, s.target.spec.address) for s in self.sessions}
        listed: dict[str, set[str]] = {}
        for session in list(self.sessions):
            detail = session.detail.latest
            if session.discovered or detail is None or detail.citus is None or not detail.at:
                continue
            spec = session.target.spec
            nodes = listed.setdefault(spec.cluster, set())
            for worker in detail.citus.workers:
                nodes.add(worker.node)
                if (spec.cluster, worker.node) in known or worker.role == "unknown":
                    continue
                host, _, port = worker.node.rpartition(":")
                found = replace(
                    spec, name=f"worker@{worker.node}", host=host, port=int(port),
                    role_hint="worker",
                )
                new = NodeSession(replace(session.target, spec=found, watched_tables=()))
                new.discovered = True
                new.peers = self.sessions
                self.sessions.append(new)
                known.add((spec.cluster, worker.node))
        for session in list(self.sessions):
            spec = session.target.spec
            if session.discovered and spec.cluster in listed and spec.address not in listed[
                spec.cluster
            ]:
                session.shutdown()
                self.sessions.remove(session)

    def poll_round(self) -> PollRound:
        self.discover_citus_workers()
        at = time.time()
        started = time.perf_counter()
        polled: set[int] = set()
        for i, session in enumerate(self.sessions):
            # From the round, not the node's thread: that thread may itself be hung.
            session.detail.enforce_deadline()
            if not session.busy:
                session.run_in_thread()
                polled.add(i)
        # A node that was down (or silent) last round is tried again, but not waited for: its
        # attempt may take the whole connect timeout, and the healthy nodes' figures must not
        # wait on it. Whatever it brings is read by a later round.
        waited = {i for i in polled if self.sessions[i].last_error is None}
        deadline = time.monotonic() + self.round_timeout
        for i in waited:
            thread = self.sessions[i].thread
            assert thread is not None
            thread.join(max(0.0, deadline - time.monotonic()))
        # The others get a moment (a refused connect or a backoff answers at once).
        grace = time.monotonic() + UNWAITED_GRACE_S
        for i in polled - waited:
            thread = self.sessions[i].thread
            assert thread is not None
            thread.join(max(0.0, grace - time.monotonic()))
        samples = []
        for i, session in enumerate(self.sessions):
            if i in polled and not session.busy and session.result is not None:
                samples.append(session.result)
                continue
            if i in polled and i not in waited:
                samples.append(
                    session.down_sample(
                        at, session.last_error or "reconnecting", started, remember=False
                    )
                )
                continue
            hung_for = time.monotonic() - session.started_at
            if hung_for > 3 * self.round_timeout:
                session.abort()
            samples.append(
                session.down_sample(
                    at,
                    f"no answer within {self.round_timeout:.1f} s (waiting {hung_for:.1f} s)",
                    started,
                    # Its thread may still finish and record the truth: not ours to overwrite.
                    remember=False,
                )
            )
        return PollRound(
            at=at, nodes=tuple(samples), duration_ms=(time.perf_counter() - started) * 1000
        )

    def wait_for_details(self, timeout: float) -> None:
        """Let the first slow readings land (for one-shot callers such as `poll --once`)."""
        deadline = time.monotonic() + timeout
        for session in self.sessions:
            session.detail.wait(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        for session in self.sessions:
            session.shutdown()
