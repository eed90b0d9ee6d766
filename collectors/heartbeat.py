"""Heartbeat rows, as pt-heartbeat does: a primary writes its clock every interval, replicas
read how old the newest applied row is. Exact to the interval even when the primary is idle
or a replication thread is stopped, where the engine's own figure reads 0 or nothing."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pymysql

from clustertop.collectors.connect import ConnectError, connect_mysql, connect_postgres
from clustertop.collectors.errors import close_quietly, error_text
from clustertop.collectors.sql import mysql as my_sql
from clustertop.collectors.sql import postgres as pg_sql
from clustertop.core.nodes import NodeSpec


def split_table(name: str, default_schema: str = "clustertop") -> tuple[str, str]:
    schema, _, table = name.rpartition(".")
    return (schema or default_schema), table


class HeartbeatWriter:
    """A thread that keeps the heartbeat row of one primary fresh; counts its own writes so
    that throughput figures can leave them out."""

    def __init__(
        self,
        spec: NodeSpec,
        table: str,
        *,
        interval: float = 0.2,
        connect_timeout: float = 1.0,
        statement_timeout: float = 1.0,
    ) -> None:
        self.spec = spec
        self.schema, self.table = split_table(table)
        self.interval = interval
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout
        self.writes = 0
        # Server-clock time just before this writer's first write: a replica whose newest
        # heartbeat is older than this has not applied that first write yet.
        self.started_at: float | None = None
        # Another writer (another clustertop, pt-heartbeat on the same table) kept the row
        # fresh before ours started: a replica's older heartbeat then means what it says.
        self.shared = False
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"heartbeat-{self.spec.key}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                conn, write = self._prepare()
            except (ConnectError, pymysql.err.MySQLError, psycopg.Error, OSError) as exc:
                self.error = error_text(exc)
                self._stop.wait(backoff)
                backoff = min(5.0, backoff * 2)
                continue
            backoff = 0.5
            self.error = None
            try:
                next_tick = time.monotonic()
                while not self._stop.is_set():
                    write()
                    self.writes += 1
                    next_tick += self.interval
                    self._stop.wait(max(0.0, next_tick - time.monotonic()))
            except (pymysql.err.MySQLError, psycopg.Error, OSError) as exc:
                self.error = error_text(exc)
            finally:
                close_quietly(conn)

    def _prepare(self) -> tuple[Any, Any]:
        names = {"schema": self.schema, "table": self.table}
        if self.spec.family == "mysql":
            conn = connect_mysql(
                self.spec,
                connect_timeout=self.connect_timeout,
                statement_timeout=self.statement_timeout,
            )
            cur = conn.cursor()
            cur.execute(my_sql.HEARTBEAT_CREATE_SCHEMA.format(**names))
            cur.execute(my_sql.HEARTBEAT_CREATE.format(**names))
            if self.started_at is None:
                cur.execute(my_sql.HEARTBEAT_AGE_HERE.format(**names))
                row = cur.fetchone()
                self.shared = _fresh(row[0] if row else None)
                cur.execute(my_sql.SERVER_CLOCK)
                self.started_at = float(cur.fetchone()[0])
            sql = my_sql.HEARTBEAT_WRITE.format(**names)
            return conn, lambda: cur.execute(sql)
        pg = connect_postgres(
            self.spec,
            connect_timeout=self.connect_timeout,
            statement_timeout=self.statement_timeout,
        )
        pg.execute(pg_sql.HEARTBEAT_CREATE_SCHEMA.format(**names))
        pg.execute(pg_sql.HEARTBEAT_CREATE.format(**names))
        system_id = system_identifier(pg)
        if self.started_at is None:
            age = pg.execute(pg_sql.HEARTBEAT_AGE_HERE.format(**names), (system_id,)).fetchone()
            self.shared = _fresh(age[0] if age else None)
            row = pg.execute(pg_sql.SERVER_CLOCK).fetchone()
            self.started_at = float(row[0]) if row else None
        sql = pg_sql.HEARTBEAT_WRITE.format(**names)
        return pg, lambda: pg.execute(sql, (system_id,), prepare=True)


# A row younger than this when our writer starts is being kept fresh by someone else
# (pt-heartbeat writes every second by default).
SHARED_ROW_FRESH_S = 2.5


def _fresh(age: Any) -> bool:
    return age is not None and float(age) < SHARED_ROW_FRESH_S


def system_identifier(conn: psycopg.Connection[Any]) -> int:
    """The cluster's identity, shared by a primary and its standbys (key of the heartbeat)."""
    try:
        # In a savepoint of its own: a refusal must not abort the caller's transaction.
        with conn.transaction():
            row = conn.execute(pg_sql.SYSTEM_IDENTIFIER).fetchone()
    except psycopg.errors.InsufficientPrivilege:
        return 0  # one heartbeat row per database is still right without the identifier
    return int(row[0]) if row else 0
