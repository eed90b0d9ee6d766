"""The latest round as Prometheus metrics, for `--metrics-port` on the TUI, `record` and
`watch`: a prometheus_client collector over whatever round and jobs the caller holds, served by
prometheus_client's own HTTP server (loopback by default). Base units, `_total` for counters,
and an unknown value is absent, never 0."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from prometheus_client import start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from clustertop.actions.jobs import JobSnapshot
from clustertop.collectors.gate import GateVerdict
from clustertop.collectors.samples import NodeSample, PollRound
from clustertop.core.errors import EnvironmentProblem, InputError

NODE = ["cluster", "node", "engine"]


class RoundCollector(Collector):
    """Metrics of the latest round, the jobs and the gate, read when Prometheus scrapes."""

    def __init__(
        self,
        latest: Callable[[], PollRound | None],
        jobs: Callable[[], Sequence[JobSnapshot]] = tuple,
        verdicts: Callable[[], Sequence[GateVerdict]] = tuple,
    ) -> None:
        self.latest, self.jobs, self.verdicts = latest, jobs, verdicts

    def collect(self) -> Iterator[Metric]:
        round_ = self.latest()
        nodes = round_.nodes if round_ is not None else ()
        yield from self._nodes(nodes)
        yield from self._replication(nodes)
        yield from self._tables(nodes)
        yield from self._jobs()
        yield from self._gate()
        if round_ is not None:
            took = GaugeMetricFamily("clustertop_poll_duration_seconds",
                                     "How long the last round of polls took")
            took.add_metric([], round_.duration_ms / 1000)
            at = GaugeMetricFamily("clustertop_poll_timestamp_seconds",
                                   "When the last round was polled (unix time)")
            at.add_metric([], round_.at)
            yield took
            yield at

    def _nodes(self, nodes: Sequence[NodeSample]) -> Iterator[Metric]:
        up = GaugeMetricFamily("clustertop_node_up", "1 when the node answers, 0 when DOWN",
                               labels=[*NODE, "role"])
        gauges = {
            "connections": GaugeMetricFamily("clustertop_connections", "Sessions connected",
                                             labels=NODE),
            "max_connections": GaugeMetricFamily("clustertop_max_connections",
                                                 "The server's max_connections", labels=NODE),
            "active": GaugeMetricFamily("clustertop_active_sessions",
                                        "Threads_running / active client backends", labels=NODE),
            "cache_hit_ratio": GaugeMetricFamily("clustertop_cache_hit_ratio",
                                                 "Buffer cache hits / requests", labels=NODE),
            "uptime_s": GaugeMetricFamily("clustertop_uptime_seconds",
                                          "Seconds since the server started", labels=NODE),
        }
        probe = GaugeMetricFamily("clustertop_probe_seconds",
                                  "Round trip of the poll's SELECT 1", labels=NODE)
        blocked = GaugeMetricFamily("clustertop_blocked_sessions",
                                    "Sessions waiting on another session's lock", labels=NODE)
        oldest = GaugeMetricFamily("clustertop_oldest_transaction_seconds",
                                   "Age of the oldest open transaction", labels=NODE)
        transactions = CounterMetricFamily(
            "clustertop_transactions", "Transactions the server counted (commits + rollbacks)",
            labels=NODE)
        queries = CounterMetricFamily("clustertop_queries", "Statements the server counted",
                                      labels=NODE)
        tps = GaugeMetricFamily("clustertop_transactions_per_second",
                                "Transactions per second over the last interval, clustertop's"
                                " own left out", labels=NODE)
        skew = GaugeMetricFamily("clustertop_shard_skew_ratio",
                                 "Citus: (max - min) / mean of the workers' shard bytes",
                                 labels=["cluster", "node"])
        for n in nodes:
            labels = [n.cluster, n.node, n.engine]
            up.add_metric([*labels, n.role or ""], 1.0 if n.up else 0.0)
            if not n.up:
                continue  # a DOWN node's figures are unknown: absent
            for field, family in gauges.items():
                value = getattr(n, field)
                if value is not None:
                    family.add_metric(labels, float(value))
            if n.probe_ms is not None:
                probe.add_metric(labels, n.probe_ms / 1000)
            if n.sessions is not None:
                blocked.add_metric(labels, float(sum(1 for s in n.sessions.sessions
                                                     if s.waiting and not s.own)))
                oldest.add_metric(labels, n.sessions.oldest_xact_s or 0.0)
            if n.transactions_total is not None:
                transactions.add_metric(labels, n.transactions_total)
            if n.queries_total is not None:
                queries.add_metric(labels, n.queries_total)
            if n.throughput is not None and n.throughput.tps is not None:
                tps.add_metric(labels, n.throughput.tps)
            citus = n.detail.citus if n.detail else None
            if citus is not None and citus.skew is not None:
                skew.add_metric([n.cluster, n.node], citus.skew)
        yield from (up, *gauges.values(), probe, blocked, oldest, transactions, queries, tps,
                    skew)

    def _replication(self, nodes: Sequence[NodeSample]) -> Iterator[Metric]:
        lag = GaugeMetricFamily(
            "clustertop_replication_lag_seconds",
            "How far a replica/standby is behind its source; method heartbeat or engine",
            labels=[*NODE, "source", "method"])
        running = GaugeMetricFamily("clustertop_replication_running",
                                    "1 when the replication stream runs", labels=[*NODE, "source"])
        for n in nodes:
            if not n.up:
                continue
            for r in n.replication:
                labels = [n.cluster, n.node, n.engine, r.source or ""]
                # A lower bound is not the lag: absent, as an unknown is.
                if r.heartbeat_lag_s is not None and not r.heartbeat_lower_bound:
                    lag.add_metric([*labels, "heartbeat"], r.heartbeat_lag_s)
                if r.engine_lag_s is not None:
                    lag.add_metric([*labels, "engine"], r.engine_lag_s)
                if r.running is not None:
                    running.add_metric(labels, 1.0 if r.running else 0.0)
        yield lag
        yield running

    def _tables(self, nodes: Sequence[NodeSample]) -> Iterator[Metric]:
        reclaimable = GaugeMetricFamily("clustertop_table_reclaimable_bytes",
                                        "Bytes a rebuild would give back", labels=[*NODE, "table"])
        rows = GaugeMetricFamily("clustertop_table_rows", "Rows (exact or the estimate)",
                                 labels=[*NODE, "table"])
        for n in nodes:
            if not n.up or n.detail is None:
                continue
            for t in n.detail.tables:
                labels = [n.cluster, n.node, n.engine, f"{t.schema}.{t.table}"]
                if t.reclaimable_bytes is not None:
                    reclaimable.add_metric(labels, float(t.reclaimable_bytes))
                if t.rows is not None:
                    rows.add_metric(labels, float(t.rows))
        yield reclaimable
        yield rows

    def _jobs(self) -> Iterator[Metric]:
        progress = GaugeMetricFamily("clustertop_job_progress_ratio",
                                     "Done / total of a job (absent without a total)",
                                     labels=["cluster", "job", "kind", "state"])
        running = GaugeMetricFamily("clustertop_job_running", "1 while the job runs",
                                    labels=["cluster", "job", "kind"])
        for j in self.jobs():
            fraction = j.fraction
            if fraction is not None:
                progress.add_metric([j.cluster, str(j.id), j.kind, j.state], fraction)
            running.add_metric([j.cluster, str(j.id), j.kind], 1.0 if j.running else 0.0)
        yield progress
        yield running

    def _gate(self) -> Iterator[Metric]:
        go = GaugeMetricFamily("clustertop_gate_go", "1 when the cluster's gate is GO",
                               labels=["cluster"])
        for verdict in self.verdicts():
            go.add_metric([verdict.cluster], 1.0 if verdict.go else 0.0)
        yield go


class MetricsServer:
    """prometheus_client's HTTP server over a RoundCollector, on its own registry."""

    def __init__(self, collector: RoundCollector, port: int, addr: str = "127.0.0.1") -> None:
        if not 0 < port < 65536:
            raise InputError("--metrics-port", port, "must be 1 to 65535")
        self.registry = CollectorRegistry()
        self.registry.register(collector)
        try:
            self._server: Any
            self._server, self._thread = start_http_server(port, addr, registry=self.registry)
        except OSError as exc:
            raise EnvironmentProblem(
                f"--metrics-port {port} on {addr}: {exc.strerror or exc}") from None
        self.port, self.addr = port, addr

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if isinstance(self._thread, threading.Thread):
            self._thread.join(2)
