"""Reading a MySQL/MariaDB node: status, role and replication, from one connection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pymysql.cursors

from collectors.samples import ReplicationSample
from collectors.sql import mysql as sql


def _first(row: Mapping[str, Any], *names: str) -> Any:
    """The value under whichever name this server version uses (Replica_* or Slave_*)."""
    for name in names:
        if name in row:
            return row[name]
    return None


def parse_replica_status(row: Mapping[str, Any]) -> ReplicationSample:
    """Both MySQL 8 names (Replica_IO_Running, Seconds_Behind_Source) and the old ones."""
    io = _first(row, "Replica_IO_Running", "Slave_IO_Running")
    sql_thread = _first(row, "Replica_SQL_Running", "Slave_SQL_Running")
    lag = _first(row, "Seconds_Behind_Source", "Seconds_Behind_Master")
    host = _first(row, "Source_Host", "Master_Host")
    port = _first(row, "Source_Port", "Master_Port")
    errors = [str(_first(row, key) or "").strip() for key in ("Last_IO_Error", "Last_SQL_Error")]
    position = _first(row, "Gtid_IO_Pos", "Executed_Gtid_Set") or None
    if not position:
        file_ = _first(row, "Relay_Source_Log_File", "Relay_Master_Log_File")
        pos = _first(row, "Exec_Source_Log_Pos", "Exec_Master_Log_Pos")
        position = f"{file_}:{pos}" if file_ else None
    # With a stopped thread the server's figure means nothing (it can read 0 while far
    # behind), so it is reported as unknown rather than trusted.
    engine_lag = float(lag) if lag is not None and io == "Yes" and sql_thread == "Yes" else None
    return ReplicationSample(
        source=f"{host}:{port}" if host else None,
        channel=str(_first(row, "Connection_name", "Channel_Name") or ""),
        running=io == "Yes" and sql_thread == "Yes",
        io_running=io,
        sql_running=sql_thread,
        engine_lag_s=engine_lag,
        last_error="; ".join(e for e in errors if e) or None,
        position=str(position) if position else None,
    )


class MySQLNodeReader:
    """Stateless apart from what the server told it once (its flavour)."""

    def __init__(self) -> None:
        self.is_mariadb: bool | None = None

    def read(self, conn: pymysql.connections.Connection[Any]) -> dict[str, Any]:
        with conn.cursor() as cur:
            cur.execute(sql.VERSION)
            version, max_connections, _read_only = cur.fetchone()  # type: ignore[misc]
            self.is_mariadb = "MariaDB" in str(version)
            cur.execute(sql.GLOBAL_STATUS)
            status = {name: value for name, value in cur.fetchall()}
        with conn.cursor(pymysql.cursors.DictCursor) as dcur:
            dcur.execute(
                sql.REPLICA_STATUS_MARIADB if self.is_mariadb else sql.REPLICA_STATUS_MYSQL
            )
            replicas = tuple(parse_replica_status(row) for row in dcur.fetchall())
        requests = float(status.get("Innodb_buffer_pool_read_requests", 0) or 0)
        misses = float(status.get("Innodb_buffer_pool_reads", 0) or 0)
        return {
            "version": str(version),
            "role": "replica" if replicas else "primary",
            "uptime_s": float(status.get("Uptime", 0)),
            "connections": int(status.get("Threads_connected", 0)),
            "max_connections": int(max_connections),
            "active": int(status.get("Threads_running", 0)),
            "cache_hit_ratio": (1 - misses / requests) if requests > 0 else None,
            "replication": replicas,
        }
