"""Immutable samples: what one poll of one node saw. The TUI renders these and nothing else.

Every figure that could not be read is None (shown as unknown), never a made-up 0.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from clustertop.collectors.sessions import SessionsSample
from clustertop.core.text import printable


@dataclass(frozen=True)
class ReplicationSample:
    """One replication stream as seen from the replica/standby side."""

    source: str | None  # host:port the node replicates from, where known
    channel: str = ""
    running: bool | None = None  # both threads running / WAL receiver streaming and replaying
    io_running: str | None = None  # Yes / No / Connecting, or the WAL receiver status
    sql_running: str | None = None  # Yes / No, or replaying / paused
    engine_lag_s: float | None = None  # Seconds_Behind_* / replay delay; None when unknown
    heartbeat_lag_s: float | None = None  # now - the newest heartbeat applied here
    heartbeat_at: float | None = None  # source-clock time of the newest heartbeat applied here
    heartbeat_error: str | None = None
    # The replica has not applied our writer's first heartbeat: the lag is at least this much,
    # maybe far more (a throttle must not take it for the whole lag).
    heartbeat_lower_bound: bool = False
    catchup_rate: float | None = None  # lag seconds recovered per second (> 0: catching up)
    last_io_error: str | None = None
    last_sql_error: str | None = None
    position: str | None = None  # GTID position / executed set, or the replay LSN
    source_server_id: int | None = None

    @property
    def lag_s(self) -> float | None:
        """The best lag figure: heartbeat when there is one, else the engine's."""
        return self.heartbeat_lag_s if self.heartbeat_lag_s is not None else self.engine_lag_s

    @property
    def lag_is_lower_bound(self) -> bool:
        """lag_s is only how far behind the replica is at least (shown as >=)."""
        return self.heartbeat_lag_s is not None and self.heartbeat_lower_bound


@dataclass(frozen=True)
class WalSenderSample:
    """PostgreSQL primary side: one standby's progress through the WAL stages."""

    application_name: str
    client: str
    state: str
    sync_state: str
    sent_bytes_behind: int | None
    write_bytes_behind: int | None
    flush_bytes_behind: int | None
    replay_bytes_behind: int | None
    write_lag_s: float | None
    flush_lag_s: float | None
    replay_lag_s: float | None


@dataclass(frozen=True)
class SlotSample:
    name: str
    slot_type: str
    active: bool
    retained_wal_bytes: int | None


@dataclass(frozen=True)
class ThroughputSample:
    """Per-second rates from counter deltas over `interval_s`; None across a counter reset."""

    interval_s: float
    tps: float | None
    qps: float | None
    rows_read_ps: float | None
    rows_inserted_ps: float | None
    rows_updated_ps: float | None
    rows_deleted_ps: float | None
    log_bytes_ps: float | None  # binlog or WAL bytes written per second
    tps_source: str  # which counters TPS comes from
    reset: bool = False  # a counter went backwards (restart or stats reset) in this interval
    rollbacks_ps: float | None = None  # of tps, the transactions that rolled back


@dataclass(frozen=True)
class StatementStat:
    schema: str | None
    text: str
    calls: int
    total_ms: float
    mean_ms: float
    rows: int


# Statements a monitor sends, not an application: reads of the system views and catalogs,
# SHOW/SET, server variables, a bare `SELECT 1` probe, clustertop's heartbeat row. Left out
# of the top statements (counted apart), so at idle the monitors' polling is not the top.
_MONITORING = re.compile(
    r"^\s*(show|set)\b|^\s*select\s+(\?|\$1|1)\s*;?\s*$|^\s*select\s+@@"
    r"|(?<!\w)[`\"]?(performance_schema|information_schema|pg_catalog|mysql|sys)[`\"]?\s*\."
    r"|\bpg_(stat|class|namespace|database|locks|roles|settings|replication|inherits|partitioned"
    r"|dist|extension|index|tables|attribute|constraint|proc|type|tablespace|am|is_in_recovery"
    r"|last_|current_wal|wal_|blocking_pids|total_relation_size|relation_size|size_pretty"
    r"|backend_pid|postmaster|control|sequence|get_|ls_|cancel|terminate|read_)\w*"
    r"|\bcitus_\w+|(?<!\w)[`\"]?clustertop[`\"]?\s*\.\s*[`\"]?heartbeat"
    r"|\bcurrent_setting\s*\(",
    re.IGNORECASE,
)


def is_monitoring_statement(text: str) -> bool:
    return bool(_MONITORING.search(text))


@dataclass(frozen=True)
class StatementsSample:
    available: bool
    reason: str | None = None  # why not, when not available
    top: tuple[StatementStat, ...] = ()
    # Monitoring statements (is_monitoring_statement) among those read, left out of `top`.
    monitoring_hidden: int = 0

    @classmethod
    def from_rows(cls, rows: list[Any], limit: int | None = None) -> StatementsSample:
        """Rows of (schema, text, calls, total ms, mean ms, rows), as both engines' SQL gives,
        the costliest first; monitoring statements counted apart, the rest cut to `limit`."""
        stats = [
            StatementStat(
                r[0], printable(str(r[1])), int(r[2]), float(r[3]), float(r[4]), int(r[5])
            )
            for r in rows
        ]
        shown = [s for s in stats if not is_monitoring_statement(s.text)]
        return cls(
            True,
            top=tuple(shown[:limit] if limit is not None else shown),
            monitoring_hidden=len(stats) - len(shown),
        )


@dataclass(frozen=True)
class PartitionSample:
    name: str
    rows: int
    data_bytes: int
    index_bytes: int
    rows_exact: bool
    bound: str | None = None


@dataclass(frozen=True)
class TableSample:
    schema: str
    table: str
    rows: int | None
    rows_exact: bool
    data_bytes: int | None
    index_bytes: int | None
    allocated_bytes: int | None
    reclaimable_bytes: int | None
    fragmentation_ratio: float | None  # reclaimable / allocated
    method: str  # how reclaimable space was measured
    dead_tuples: int | None = None
    last_vacuum: str | None = None
    last_autovacuum: str | None = None
    stats_updated: str | None = None
    partitions: tuple[PartitionSample, ...] = ()
    partition_skew: float | None = None  # (max - min) / mean rows over non-empty partitions
    error: str | None = None
    # A TimescaleDB hypertable: its partitions are its chunks (bound: the time range), and
    # whether they are compressed, or why that is not known ("not in this build").
    hypertable: bool = False
    compression: str | None = None

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"

    @classmethod
    def unreadable(cls, schema: str, table: str, error: str) -> TableSample:
        return cls(schema, table, None, False, None, None, None, None, None, "-", error=error)


@dataclass(frozen=True)
class CitusWorkerSample:
    node: str  # host:port
    active: bool
    role: str
    should_have_shards: bool
    shard_count: int
    bytes: int | None  # None: a shard on it whose size the coordinator could not read


@dataclass(frozen=True)
class CitusTableSample:
    table: str
    table_type: str
    colocation_id: int
    shard_count: int
    bytes_by_worker: tuple[tuple[str, int | None], ...]
    shards_by_worker: tuple[tuple[str, int], ...]
    skew: float | None


@dataclass(frozen=True)
class CitusShardSample:
    table: str
    shard_id: int
    shard_name: str
    node: str
    bytes: int | None


@dataclass(frozen=True)
class TenantSample:
    """One tenant (a value of the distribution column) as citus_stat_tenants counts it, and
    the shard it lives in. Counts are per period (citus.stat_tenants_period, 60 s by
    default): the one under way and the one before."""

    colocation_id: int
    tenant: str
    table: str  # the colocation group's first distributed table, which names the shard
    queries_now: int
    queries_last: int
    cpu_now_s: float
    cpu_last_s: float
    shard_id: int | None
    node: str | None
    # The bytes of the shard group the tenant lives in (its colocated shards together): what
    # a move of that tenant carries today. None: unknown (a worker not answering).
    group_bytes: int | None

    @property
    def queries(self) -> int:
        return self.queries_now + self.queries_last

    @property
    def cpu_s(self) -> float:
        return self.cpu_now_s + self.cpu_last_s


@dataclass(frozen=True)
class RebalanceTaskSample:
    phase: str | None
    state: str | None
    source: str | None
    target: str | None
    size_source: str | None
    size_target: str | None
    command: str | None


@dataclass(frozen=True)
class RebalanceSample:
    job_id: int
    state: str
    job_type: str
    description: str | None
    started_at: str | None
    finished_at: str | None
    tasks: tuple[RebalanceTaskSample, ...]
    task_state_counts: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class CitusSample:
    workers: tuple[CitusWorkerSample, ...]
    tables: tuple[CitusTableSample, ...]
    # bytes, (max - min) / mean over active workers that hold shards; None when a worker's
    # bytes are unknown (then skew_of_known says what the workers that answered give)
    skew: float | None
    count_skew: float | None
    hot_shards: tuple[CitusShardSample, ...]
    rebalance: RebalanceSample | None
    # Tables with a shard on an inactive worker, or on one whose shard sizes are unknown.
    unavailable_tables: tuple[str, ...] = ()
    bytes_unknown_on: tuple[str, ...] = ()  # workers whose shard sizes could not be read
    skew_of_known: float | None = None  # the skew over the workers whose bytes are known
    tenants: tuple[TenantSample, ...] = ()  # the busiest first
    # Why there are no tenants to show (tracking off, the view not readable), or None.
    tenants_note: str | None = None
    tenant_period_s: int | None = None  # citus.stat_tenants_period


@dataclass(frozen=True)
class TimescaleJobSample:
    job_id: int
    name: str  # application_name, e.g. "Retention Policy [1002]"
    proc: str | None
    hypertable: str | None
    scheduled: bool
    last_status: str | None  # Success / Failed / None (never ran)
    runs: int | None
    failures: int | None
    last_started: str | None
    last_error: str | None

    @property
    def failing(self) -> bool:
        return self.last_status == "Failed"

    def silenced_by(self, silenced: tuple[str, ...]) -> bool:
        """A known failure the operator chose not to be warned about (by id or by name)."""
        return str(self.job_id) in silenced or self.name in silenced


@dataclass(frozen=True)
class TimescaleSample:
    version: str
    license: str | None  # apache or timescale
    jobs: tuple[TimescaleJobSample, ...] = ()
    jobs_error: str | None = None  # why the jobs could not be read


@dataclass(frozen=True)
class DetailSample:
    """The slower, heavier readings (statements, tables, shards), refreshed less often."""

    at: float
    statements: StatementsSample | None = None
    tables: tuple[TableSample, ...] = ()
    citus: CitusSample | None = None
    timescale: TimescaleSample | None = None  # the node has the timescaledb extension
    error: str | None = None
    duration_ms: float | None = None
    # Figures of this pass a missing grant keeps unknown, each `figure: needs GRANT ...`.
    unknown: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServerStatus:
    """What one read of a node says about the server itself, as a collector found it."""

    version: str
    role: str
    server_id: str
    uptime_s: float | None
    connections: int
    max_connections: int
    active: int
    replication: tuple[ReplicationSample, ...] = ()
    senders: tuple[WalSenderSample, ...] = ()
    slots: tuple[SlotSample, ...] = ()
    # Figures a missing grant keeps unknown, each `figure: needs GRANT ...`.
    unknown: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodeReading:
    """A collector's read of a node: the server's status, and running counters (by name) that
    the poller turns into rates."""

    status: ServerStatus
    counters: Mapping[str, float | None]
    tps_source: str
    trx_metrics: bool = False  # MySQL: InnoDB's trx counters (they count our own reads too)
    sessions: SessionsSample | None = None
    probe_ms: float | None = None  # the round trip of this read's `SELECT 1`


@dataclass(frozen=True)
class NodeSample:
    cluster: str
    node: str
    engine: str
    address: str
    at: float  # unix time of the poll
    up: bool
    error: str | None = None
    version: str | None = None
    role: str | None = None
    server_id: str | None = None  # server_id, or the PostgreSQL system identifier
    uptime_s: float | None = None
    connections: int | None = None
    max_connections: int | None = None
    active: int | None = None  # Threads_running, or active client backends
    cache_hit_ratio: float | None = None
    replication: tuple[ReplicationSample, ...] = ()
    senders: tuple[WalSenderSample, ...] = ()
    slots: tuple[SlotSample, ...] = ()
    throughput: ThroughputSample | None = None
    heartbeat_writer: str | None = None  # "writing" on a primary, or why not
    detail: DetailSample | None = None
    poll_ms: float | None = None
    probe_ms: float | None = None  # this poll's `SELECT 1` round trip (the gate's probe)
    # The server's own running counts, as read (for counters downstream, e.g. Prometheus'
    # rate()): clustertop's own reads are in them; the per-second figures leave those out.
    transactions_total: float | None = None
    queries_total: float | None = None
    queries: int = 0  # statements this poll sent to the node
    retry_in_s: float | None = None  # a DOWN node: when the next connection attempt is due
    # A fresh connection every few seconds: False when the server answers on the sessions it
    # has but lets nobody new in (a stopped postmaster, max_connections used up); None unknown.
    accepting_connections: bool | None = None
    accept_error: str | None = None
    # Sessions, blocking chains and long operations, read every poll (None: not read).
    sessions: SessionsSample | None = None
    # Figures a missing grant keeps unknown (this round's and the last detail pass's), each
    # `figure: needs GRANT ...`: said on screen rather than shown as a figure or a failure.
    unknown: tuple[str, ...] = ()

    @property
    def down_text(self) -> str:
        """Why the node is DOWN, said once, and when it is tried again."""
        retry = f" (retry in {self.retry_in_s:.1f} s)" if self.retry_in_s is not None else ""
        return f"{self.error}{retry}"

    @property
    def key(self) -> str:
        return f"{self.cluster}/{self.node}"

    def _worst(self, attr: str) -> float | None:
        values = [getattr(r, attr) for r in self.replication if getattr(r, attr) is not None]
        return max(values) if values else None

    @property
    def engine_lag_s(self) -> float | None:
        return self._worst("engine_lag_s")

    @property
    def heartbeat_lag_s(self) -> float | None:
        return self._worst("heartbeat_lag_s")

    @property
    def lag_s(self) -> float | None:
        return self._worst("lag_s")

    @property
    def lag_is_lower_bound(self) -> bool:
        """The worst lag is only a lower bound (a replica that has not applied our first
        heartbeat): shown as >=, and never GO in a gate."""
        known = [r for r in self.replication if r.lag_s is not None]
        return bool(known) and max(known, key=lambda r: r.lag_s or 0.0).lag_is_lower_bound

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["key"] = self.key
        return data


@dataclass(frozen=True)
class PollRound:
    at: float
    nodes: tuple[NodeSample, ...]
    duration_ms: float

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "duration_ms": round(self.duration_ms, 2),
            "nodes": [n.to_json() for n in self.nodes],
        }


def skew(values: list[float] | list[int]) -> float | None:
    """(max - min) / mean: 0 for perfectly even, None when there is nothing to compare."""
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    if mean <= 0:
        return None
    return (max(values) - min(values)) / mean
