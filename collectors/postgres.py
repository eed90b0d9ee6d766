"""Reading a PostgreSQL (or Citus) node: status, role and replication, from one connection."""

from __future__ import annotations

from typing import Any

import psycopg

from collectors.samples import ReplicationSample
from collectors.sql import postgres as sql


class PostgresNodeReader:
    def read(self, conn: psycopg.Connection[Any]) -> dict[str, Any]:
        row = conn.execute(sql.NODE).fetchone()
        assert row is not None
        version, in_recovery, uptime, connections, max_connections, active, hit = row
        replication: tuple[ReplicationSample, ...] = ()
        if in_recovery:
            role = "standby"
            replication = (self._standby(conn),)
        else:
            role = self.citus_role(conn) or "primary"
        return {
            "version": f"PostgreSQL {version}",
            "role": role,
            "uptime_s": float(uptime),
            "connections": int(connections),
            "max_connections": int(max_connections),
            "active": int(active),
            "cache_hit_ratio": float(hit) if hit is not None else None,
            "replication": replication,
        }

    def citus_role(self, conn: psycopg.Connection[Any]) -> str | None:
        if not conn.execute(sql.HAS_CITUS).fetchone():
            return None
        group = conn.execute(sql.CITUS_GROUP).fetchone()
        return "coordinator" if group and group[0] == 0 else "worker"

    def _standby(self, conn: psycopg.Connection[Any]) -> ReplicationSample:
        row = conn.execute(sql.STANDBY).fetchone()
        assert row is not None
        status, host, port, paused, lag, replay_lsn = row
        streaming = status == "streaming"
        return ReplicationSample(
            source=f"{host}:{port}" if host else None,
            running=streaming and not paused,
            io_running=status or "stopped",
            sql_running="paused" if paused else "replaying",
            engine_lag_s=float(lag) if lag is not None and streaming else None,
            position=replay_lsn,
        )
