"""Fixed sample streams for rendering tests of the TUI (snapshots need fixed data).

Whether a number is right is tested against real servers elsewhere; here only how samples are
drawn is tested: a crit lag, a DOWN node, a Citus rebalance, partitions, a running job.
"""

from __future__ import annotations

import math

from clustertop.actions.jobs import FINISHED, RUNNING, JobRegistry, JobSnapshot
from clustertop.collectors.samples import (
    CitusSample,
    CitusShardSample,
    CitusTableSample,
    CitusWorkerSample,
    DetailSample,
    NodeSample,
    PartitionSample,
    PollRound,
    RebalanceSample,
    RebalanceTaskSample,
    ReplicationSample,
    SlotSample,
    StatementsSample,
    StatementStat,
    TableSample,
    TenantSample,
    ThroughputSample,
    WalSenderSample,
)
from clustertop.collectors.sessions import (
    ProgressSample,
    SessionSample,
    SessionsSample,
    build_sessions_sample,
)
from clustertop.core.config import Config, parse_config

T0 = 1_800_000_000.0  # a fixed clock: 2027-01-15 08:00:00 UTC
ROUNDS = 40

CONFIG_DATA = {
    "defaults": {"poll_interval": 60.0, "connect_timeout": 1.0, "statement_timeout": 1.0},
    "clusters": {
        "shop": {
            "engine": "mariadb",
            "watched_tables": ["cleanup_bench.cleanup_batch", "cleanup_bench.cleanup_partitioned"],
            "nodes": [{"name": "db1", "port": 3306}, {"name": "db2", "port": 3307}],
        },
        "billing": {
            "engine": "postgres",
            "nodes": [{"name": "pg1", "port": 5432}, {"name": "pg2", "port": 5433}],
        },
        "events": {
            "engine": "citus",
            "thresholds": {"skew_warn_ratio": 0.2},
            "nodes": [{"name": "coord", "port": 6432}, {"name": "w1", "port": 6433},
                      {"name": "w2", "port": 6434}],
        },
    },
}


def canned_config() -> Config:
    return parse_config(CONFIG_DATA, origin="canned")


def _tp(i: int, base: float) -> ThroughputSample:
    wave = base * (1 + 0.3 * math.sin(i / 4))
    return ThroughputSample(1.0, wave, wave * 4, wave * 10, wave * 0.7, wave * 0.2, wave * 0.1,
                            wave * 900, "canned")


def _tables(i: int) -> tuple[TableSample, ...]:
    parts = tuple(
        PartitionSample(f"p202701{d:02d}", 10_000 + (4000 if d == 12 else 0) + d * 10, 1_600_000,
                        250_000, True)
        for d in range(6, 15)
    )
    return (
        TableSample("cleanup_bench", "cleanup_batch", 100_000, True, 13_697_024, 3_162_112,
                    36_800_000, 19_900_000 if i < 30 else 400_000, 0.54 if i < 30 else 0.011,
                    "InnoDB: file size - leaf pages in use", stats_updated="2027-01-15 07:59:00"),
        TableSample("cleanup_bench", "cleanup_partitioned", sum(p.rows for p in parts), True,
                    14_400_000, 2_250_000, 19_000_000, 600_000, 0.03,
                    "InnoDB: file size - leaf pages in use", partitions=parts, partition_skew=0.42),
    )


def _pg_tables() -> tuple[TableSample, ...]:
    # Vacuumed 12 and 95 minutes before T0 (the server's stamps, with their offset).
    return (
        TableSample("billing", "invoices", 480_000, False, 61_000_000, 12_500_000, 73_500_000,
                    9_200_000, 0.125, "pgstattuple_approx", dead_tuples=41_200,
                    last_autovacuum="2027-01-15 07:48:00.25+00:00"),
        TableSample("billing", "payments", 1_250_000, False, 98_000_000, 30_100_000,
                    128_100_000, 2_100_000, 0.016, "pgstattuple_approx", dead_tuples=880,
                    last_vacuum="2027-01-15 06:25:00+00:00",
                    last_autovacuum="2027-01-15 06:20:00+00:00"),
    )


def _citus() -> CitusSample:
    workers = (
        CitusWorkerSample("10.0.0.5:6433", True, "primary", True, 20, 620_000_000),
        CitusWorkerSample("10.0.0.6:6434", True, "primary", True, 12, 210_000_000),
    )
    table = CitusTableSample("events", "distributed", 1, 32,
                             (("10.0.0.5:6433", 620_000_000), ("10.0.0.6:6434", 210_000_000)),
                             (("10.0.0.5:6433", 20), ("10.0.0.6:6434", 12)), 0.99)
    hot = tuple(CitusShardSample("events", 102008 + k, f"events_{102008 + k}", "10.0.0.5:6433",
                                 300_000_000 // (k + 1)) for k in range(3))
    job = RebalanceSample(
        17, "running", "rebalance", "Rebalance all colocation groups", "2027-01-15 07:59:20", None,
        (RebalanceTaskSample("Copying Data", "running", "10.0.0.5:6433", "10.0.0.6:6434", "25 MB",
                             "9 MB", "SELECT pg_catalog.citus_move_shard_placement(102010, ...)"),),
        (("blocked", 3), ("done", 2), ("running", 1)),
    )
    tenants = (
        TenantSample(1, "4711", "events", 9_120, 8_870, 4.21, 3.96, 102008, "10.0.0.5:6433",
                     300_000_000),
        TenantSample(1, "12", "events", 610, 587, 0.18, 0.2, 102010, "10.0.0.5:6433",
                     100_000_000),
    )
    return CitusSample(workers, (table,), 0.99, 0.5, hot, job, tenants=tenants,
                       tenant_period_s=60)


def _statements() -> StatementsSample:
    return StatementsSample(True, top=(
        StatementStat("shop", "DELETE FROM cleanup_bench.cleanup_batch WHERE id < ? LIMIT ?",
                      420, 9120.5, 21.7, 2_100_000),
        StatementStat("shop", "SELECT * FROM orders WHERE id = ?", 88_000, 1300.2, 0.015, 88_000),
    ))


def _sessions(i: int, family: str) -> SessionsSample:
    """A long transaction, an ALTER queued behind it, two readers queued behind the ALTER, an
    index build under way, and the monitor's own session."""
    age = 30.0 + i
    if family == "postgres":
        idle, lock = "idle in transaction", "table lock (AccessExclusiveLock) on billing.invoices"
        read_lock = "table lock (AccessShareLock) on billing.invoices"
    else:
        idle, lock = "Sleep", "metadata lock on shop.orders"
        read_lock = lock
    table = "billing.invoices" if family == "postgres" else "shop.orders"
    sessions = [
        SessionSample(4242, "report", "app", "10.0.9.7", idle, age, age + 2, "Client:ClientRead",
                      f"SELECT sum(total) FROM {table} WHERE created_at > ?"),
        SessionSample(4301, "deploy", "app", "10.0.9.8", "active", 12.0, 12.0, "Lock:relation",
                      f"ALTER TABLE {table} ADD COLUMN note text", blocked_by=(4242,),
                      lock=lock, wait_s=12.0, ddl=True),
        SessionSample(4310, "web", "app", "10.0.9.9", "active", 9.5, 9.5, "Lock:relation",
                      f"SELECT * FROM {table} WHERE id = ?", blocked_by=(4301,),
                      lock=read_lock, wait_s=9.5),
        SessionSample(4311, "web", "app", "10.0.9.9", "active", 8.1, 8.1, "Lock:relation",
                      f"UPDATE {table} SET paid = ? WHERE id = ?", blocked_by=(4301,),
                      lock=read_lock, wait_s=8.1),
        SessionSample(4400, "dba", "app", "10.0.9.2", "active", 41.0, 41.0, None,
                      "CREATE INDEX CONCURRENTLY ON billing.items (sku)"),
        SessionSample(4500, "clustertop", "app", "10.0.9.1", "active", 0.0, 0.0, None,
                      "SELECT pid, usename FROM pg_stat_activity", own=True, program="clustertop"),
        SessionSample(4501, "web", "app", "10.0.9.9", "idle", 3.0, None, "Client:ClientRead",
                      "COMMIT"),
    ]
    progress = (
        ProgressSample(4400, "CREATE INDEX", "billing.items", "building index: scanning table",
                       float(1000 + i * 400), 48_000.0, "blocks"),
    )
    return build_sessions_sample(sessions, 57, progress)


def canned_rounds() -> list[PollRound]:
    rounds = []
    for i in range(ROUNDS):
        at = T0 + i
        lag = 0.1 if i < 20 else min(9.0, 0.1 + (i - 20) * 0.5)  # a replica falling behind
        detail = DetailSample(at=at - 0.5, statements=_statements(), tables=_tables(i))
        shop_db1 = NodeSample("shop", "db1", "mariadb", "10.0.0.1:3306", at, True,
                              version="10.11.19-MariaDB", role="primary", server_id="1",
                              uptime_s=86_400 * 3 + 3600, connections=42, max_connections=300,
                              active=3, cache_hit_ratio=0.998, throughput=_tp(i, 850),
                              heartbeat_writer="writing every 0.1 s", detail=detail, poll_ms=4.0, probe_ms=0.4,
                              sessions=_sessions(i, "mysql"))
        shop_db2 = NodeSample(
            "shop", "db2", "mariadb", "10.0.0.2:3307", at, True, version="10.11.19-MariaDB",
            role="replica", server_id="2", uptime_s=86_400 * 3, connections=12,
            max_connections=300, active=2, cache_hit_ratio=0.991, throughput=_tp(i, 600),
            replication=(ReplicationSample("10.0.0.1:3306", "", True, "Yes", "Yes",
                                           engine_lag_s=float(int(lag)), heartbeat_lag_s=lag,
                                           catchup_rate=-0.5 if i >= 20 else 0.0,
                                           position="0-1-88231", source_server_id=1),),
            detail=detail, poll_ms=3.0, probe_ms=0.5)
        pg1 = NodeSample("billing", "pg1", "postgres", "10.0.1.1:5432", at, True,
                         version="PostgreSQL 15.18", role="primary", uptime_s=7200,
                         connections=18, max_connections=200, active=1, cache_hit_ratio=0.97,
                         throughput=_tp(i, 420),
                         senders=(WalSenderSample("pg2", "10.0.1.2", "streaming", "async",
                                                  0, 0, 8192, 16384, 0.001, 0.002, 0.004),),
                         slots=(SlotSample("pg2_slot", "physical", True, 16384),),
                         heartbeat_writer="writing every 0.1 s", poll_ms=5.0, probe_ms=0.6,
                         sessions=_sessions(i, "postgres"),
                         detail=DetailSample(at=at - 0.5, tables=_pg_tables()))
        pg2 = NodeSample("billing", "pg2", "postgres", "10.0.1.2:5433", at, False,
                         error="connection refused (is the server running on 10.0.1.2:5433?)",
                         role="standby", poll_ms=1.0)
        coord = NodeSample("events", "coord", "citus", "10.0.0.4:6432", at, True,
                           version="PostgreSQL 15.18", role="coordinator", uptime_s=900,
                           connections=30, max_connections=300, active=4, cache_hit_ratio=0.95,
                           throughput=_tp(i, 1500),
                           detail=DetailSample(at=at - 0.5, citus=_citus()), poll_ms=6.0)
        w1 = NodeSample("events", "w1", "citus", "10.0.0.5:6433", at, True,
                        version="PostgreSQL 15.18", role="worker", uptime_s=900, connections=40,
                        max_connections=300, active=6, cache_hit_ratio=0.93,
                        throughput=_tp(i, 900), poll_ms=4.0)
        w2 = NodeSample("events", "w2", "citus", "10.0.0.6:6434", at, True,
                        version="PostgreSQL 15.18", role="worker", uptime_s=900, connections=22,
                        max_connections=300, active=2, cache_hit_ratio=0.96,
                        throughput=_tp(i, 500), poll_ms=4.0)
        rounds.append(PollRound(at, (shop_db1, shop_db2, pg1, pg2, coord, w1, w2), 9.0))
    return rounds


class CannedSource:
    """Hands out the canned rounds in order, then the last one again."""

    def __init__(self, rounds: list[PollRound]) -> None:
        self.rounds = rounds
        self.calls = 0

    def poll_round(self) -> PollRound:
        round_ = self.rounds[min(self.calls, len(self.rounds) - 1)]
        self.calls += 1
        return round_

    def close(self) -> None:
        self.calls = 0


class CannedJobs(JobRegistry):
    """A registry that shows fixed jobs: a running workload and a finished comparison."""

    def snapshots(self) -> tuple[JobSnapshot, ...]:
        series = {
            "achieved": tuple((T0 + k, 190.0 + (k % 5) * 3) for k in range(30)),
            "target": tuple((T0 + k, 200.0) for k in range(30)),
            "p50_ms": tuple((T0 + k, 2.0 + (k % 3) * 0.2) for k in range(30)),
            "p95_ms": tuple((T0 + k, 6.0 + (k % 4) * 0.5) for k in range(30)),
            "p99_ms": tuple((T0 + k, 12.0 + (k % 6)) for k in range(30)),
        }
        workload = JobSnapshot(
            id=3, kind="workload", title="oltp 4 conns @200 tps", cluster="shop", state=RUNNING,
            started_at=T0 + 10, done=5400, total=12000, unit="tx", rate=180.0,
            log=("08:00:11 started: 4 connections, target 200 tps",
                 "08:00:30 200 tps, p99 14.1 ms"),
            series=tuple(series.items()),
            rows=tuple(
                {"kind": kind, "tx": tx, "tx_per_s": tx / 27.0, "p50_ms": p50, "p95_ms": p99 / 2,
                 "p99_ms": p99, "errors": errors}
                for kind, tx, p50, p99, errors in (
                    ("update", 1080, 2.4, 18.3, 2), ("insert", 810, 2.1, 14.7, 0),
                    ("select", 3240, 1.2, 9.8, 0), ("delete", 270, 2.2, 8.1, 0))
            ),
        )
        cleanups = tuple(
            JobSnapshot(id=k + 1, kind="cleanup", title=method, cluster="shop", state=FINISHED,
                        started_at=T0 + k, finished_at=T0 + k + 1, done=50_000, total=50_000,
                        unit="rows", rate=rate, group="compare-1",
                        summary=(("duration", f"{50_000 / rate:.1f}s"), ("rows/s", f"{rate:,.0f}"),
                                 ("max lag", lag), ("rows lost", "0")))
            for k, (method, rate, lag) in enumerate(
                (("partition_drop", 900_000.0, "0.1s"), ("batch_delete", 61_000.0, "2.9s")))
        )
        return (*cleanups, workload)

    def running(self) -> list:  # type: ignore[override, type-arg]
        return []
