"""Immutable samples: what one poll of one node saw. The TUI renders these and nothing else."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ReplicationSample:
    """One replication stream as seen from the replica/standby side."""

    source: str | None  # host:port the node replicates from, where known
    channel: str = ""
    running: bool | None = None  # both threads running / WAL receiver streaming
    io_running: str | None = None  # Yes / No / Connecting, or the WAL receiver status
    sql_running: str | None = None  # Yes / No, or "paused" when replay is paused
    engine_lag_s: float | None = None  # None: unknown (a thread stopped), never a made-up 0
    last_error: str | None = None
    position: str | None = None  # GTID set or replay LSN


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
    uptime_s: float | None = None
    connections: int | None = None
    max_connections: int | None = None
    active: int | None = None  # Threads_running, or active client backends
    cache_hit_ratio: float | None = None
    replication: tuple[ReplicationSample, ...] = field(default_factory=tuple)
    poll_ms: float | None = None

    @property
    def key(self) -> str:
        return f"{self.cluster}/{self.node}"

    @property
    def engine_lag_s(self) -> float | None:
        lags = [r.engine_lag_s for r in self.replication if r.engine_lag_s is not None]
        return max(lags) if lags else None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


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
