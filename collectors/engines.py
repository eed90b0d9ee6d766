"""One adapter per engine family: how to connect, quote a name, read a node, and the few facts
in which the families differ. Code that would otherwise ask `if family == "mysql"` asks the
node's adapter; a new engine (MySQL 8 naming, TimescaleDB, ProxySQL) is a new adapter.

Each family's SQL stays in its own module (collectors/sql/, actions/sql/); the adapter is how
the rest of the code reaches the right one."""

from __future__ import annotations

import contextlib
import socket
from typing import Any, ClassVar, Literal

from clustertop.collectors.connect import connect_mysql, connect_postgres
from clustertop.collectors.mysql import MySQLCollector
from clustertop.collectors.postgres import PostgresCollector
from clustertop.core.nodes import Engine, NodeSpec


class EngineAdapter:
    family: ClassVar[Literal["mysql", "postgres"]]
    label: ClassVar[str]
    # A replica applies the source's transactions and counts them as its own commits (MySQL),
    # or replays WAL without counting them (a PostgreSQL standby).
    replica_counts_applied_commits: ClassVar[bool]
    quote_char: ClassVar[str]
    # Statements a bare connect sends (MySQL: session setup and the time-zone init_command), which
    # the server counts as queries: clustertop's own, left out of QPS.
    connect_queries: ClassVar[int]

    def connect(self, spec: NodeSpec, **options: Any) -> Any:
        """A connection with timeouts (connect_timeout, statement_timeout, database,
        autocommit as collectors.connect takes them)."""
        raise NotImplementedError

    def collector(self, heartbeat_table: str | None = None) -> MySQLCollector | PostgresCollector:
        raise NotImplementedError

    def probe_connect(self, spec: NodeSpec, timeout: float) -> Any:
        """A bare connection (libpq's connect_timeout bounds the whole startup)."""
        return self.connect(spec, connect_timeout=timeout)

    def quote(self, name: str) -> str:
        """An identifier quoted for this engine (the quote character itself doubled)."""
        q = self.quote_char
        return f"{q}{name.replace(q, q + q)}{q}"

    def socket_fd(self, conn: Any) -> int:
        """The connection's socket, so another thread can cut a blocked read short."""
        raise NotImplementedError

    def cut_off(self, conn: Any) -> None:
        """Make a blocked read on this connection return at once, from any thread."""
        if conn is None:
            return
        fd = -1
        with contextlib.suppress(Exception):
            fd = self.socket_fd(conn)
        if fd >= 0:
            with contextlib.suppress(OSError):
                sock = socket.socket(fileno=socket.dup(fd))
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()


class MySQLAdapter(EngineAdapter):
    """MySQL and MariaDB (MariaDB's own names are read beside MySQL 8's, e.g. both spellings of
    the replica status columns)."""

    family = "mysql"
    label = "MySQL/MariaDB"
    replica_counts_applied_commits = True
    quote_char = "`"
    connect_queries = 3  # measured: PyMySQL's session setup plus the time-zone init_command

    def connect(self, spec: NodeSpec, **options: Any) -> Any:
        return connect_mysql(spec, **options)

    def probe_connect(self, spec: NodeSpec, timeout: float) -> Any:
        """A bare connection whose every read is bounded (a server that accepts but never
        greets must not hold the probe)."""
        return connect_mysql(spec, connect_timeout=timeout, io_timeout=timeout)

    def collector(self, heartbeat_table: str | None = None) -> MySQLCollector:
        return MySQLCollector(heartbeat_table)

    def socket_fd(self, conn: Any) -> int:
        return int(conn._sock.fileno())


class PostgresAdapter(EngineAdapter):
    family = "postgres"
    label = "PostgreSQL"
    replica_counts_applied_commits = False
    quote_char = '"'
    connect_queries = 0

    def connect(self, spec: NodeSpec, **options: Any) -> Any:
        return connect_postgres(spec, **options)

    def collector(self, heartbeat_table: str | None = None) -> PostgresCollector:
        return PostgresCollector(heartbeat_table)

    def socket_fd(self, conn: Any) -> int:
        return int(conn.pgconn.socket)


class CitusAdapter(PostgresAdapter):
    """A Citus coordinator or worker: PostgreSQL, plus shards (collectors/citus.py)."""

    label = "Citus"


ADAPTERS: dict[Engine, EngineAdapter] = {
    "mysql": MySQLAdapter(),
    "mariadb": MySQLAdapter(),
    "postgres": PostgresAdapter(),
    "citus": CitusAdapter(),
}


def adapter_for(spec: NodeSpec) -> EngineAdapter:
    return ADAPTERS[spec.engine]


def family_adapter(family: str) -> EngineAdapter:
    """The adapter of a family, where only the family is known (a table's shape)."""
    return ADAPTERS["mysql"] if family == "mysql" else ADAPTERS["postgres"]
