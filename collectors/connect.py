"""Open connections with timeouts, so a dead or hung node can never block a caller for long."""

from __future__ import annotations

import math
import os
import ssl
import threading
from pathlib import Path
from typing import Any, ClassVar

import psycopg
import pymysql
import pymysql.cursors

from clustertop.collectors.errors import error_text
from clustertop.core.errors import OperationFailed
from clustertop.core.nodes import NodeSpec

APPLICATION_NAME = "clustertop"


class ConnectError(OperationFailed):
    """Could not reach or log in to a node; the message never holds a password."""


def default_mysql_option_file() -> str | None:
    path = Path.home() / ".my.cnf"
    return str(path) if path.is_file() else None


class _MySQLConnection(pymysql.connections.Connection):  # type: ignore[type-arg]
    """PyMySQL's connection with each TLS context built once per process. PyMySQL builds one
    for every connection, TLS or not (it tries TLS whenever the server offers it), and building
    one loads the system's CA bundle: 15 ms of CPU each time (measured), which the poller's
    connection probe paid every 2 s per node. A CA file replaced on disk is read again by a
    new process."""

    _contexts: ClassVar[dict[tuple[tuple[str, str], ...], ssl.SSLContext]] = {}
    _contexts_lock: ClassVar[threading.Lock] = threading.Lock()

    def _create_ssl_ctx(self, sslp: Any) -> ssl.SSLContext:
        if isinstance(sslp, ssl.SSLContext):
            return sslp
        key = tuple(sorted((str(k), str(v)) for k, v in sslp.items()))
        with self._contexts_lock:
            context = self._contexts.get(key)
            if context is None:
                context = self._contexts[key] = super()._create_ssl_ctx(sslp)  # type: ignore[misc]
        return context


def connect_mysql(
    spec: NodeSpec,
    *,
    connect_timeout: float = 2.0,
    statement_timeout: float | None = None,
    database: str | None = None,
    autocommit: bool = True,
    local_infile: bool = False,
    io_timeout: float | None = None,
    program: str = APPLICATION_NAME,
) -> pymysql.connections.Connection[Any]:
    """A PyMySQL connection; read/write timeouts bound every round trip, not only the connect."""
    option_file = spec.option_file or default_mysql_option_file()
    kwargs: dict[str, Any] = {
        "host": spec.host,
        "port": spec.port,
        "user": spec.user,
        "password": spec.resolve_password() or "",
        "database": database if database is not None else spec.database,
        "connect_timeout": max(connect_timeout, 0.1),
        "autocommit": autocommit,
        "charset": "utf8mb4",
        "local_infile": local_infile,
        # Names the session (performance_schema's connect attributes): Activity marks its own.
        "program_name": program,
        # Timestamps are UTC everywhere clustertop reads or writes them.
        "init_command": "SET time_zone = '+00:00'",
    }
    if spec.ssl_ca or spec.ssl_verify_cert:
        kwargs["ssl_ca"] = os.path.expanduser(spec.ssl_ca) if spec.ssl_ca else None
        # Verifying the certificate includes its name: a CA-signed certificate for some other
        # host is refused too, as libpq's verify-full does.
        kwargs["ssl_verify_cert"] = spec.ssl_verify_cert is not False
        kwargs["ssl_verify_identity"] = spec.ssl_verify_cert is not False
    if option_file:
        kwargs["read_default_file"] = os.path.expanduser(option_file)
        if not spec.resolve_password():
            # PyMySQL only falls back to the file's password when none is passed.
            kwargs.pop("password")
    if statement_timeout is not None:
        # The socket timeout is the last line of defence against a server that never answers.
        kwargs["read_timeout"] = statement_timeout + connect_timeout
        kwargs["write_timeout"] = statement_timeout + connect_timeout
    elif io_timeout is not None:
        # Bounds every read, the server's greeting included, without a session setting.
        kwargs["read_timeout"] = kwargs["write_timeout"] = io_timeout
    try:
        conn = _MySQLConnection(**kwargs)
    except pymysql.err.MySQLError as exc:
        raise ConnectError(error_text(exc)) from None
    except OSError as exc:
        raise ConnectError(str(exc)) from None
    if statement_timeout is not None:
        _set_mysql_statement_timeout(conn, statement_timeout)
    return conn


def _set_mysql_statement_timeout(conn: pymysql.connections.Connection[Any], seconds: float) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        row = cur.fetchone()
        version = str(row[0]) if row else ""
        if "MariaDB" in version:
            cur.execute(f"SET SESSION max_statement_time = {seconds:.3f}")
        else:
            # MySQL bounds only SELECTs this way; the socket timeout covers the rest.
            cur.execute(f"SET SESSION max_execution_time = {math.ceil(seconds * 1000)}")


def connect_postgres(
    spec: NodeSpec,
    *,
    connect_timeout: float = 2.0,
    statement_timeout: float | None = None,
    database: str | None = None,
    autocommit: bool = True,
    program: str = APPLICATION_NAME,
) -> psycopg.Connection[Any]:
    """A psycopg connection; libpq rounds connect timeouts below 2 s up to 2 s."""
    params: dict[str, Any] = {
        "host": spec.host,
        "port": spec.port,
        "connect_timeout": max(2, math.ceil(connect_timeout)),
        "application_name": program,
        "autocommit": autocommit,
    }
    if spec.user:
        params["user"] = spec.user
    db = database if database is not None else spec.database
    if db:
        params["dbname"] = db
    password = spec.resolve_password()
    if password:
        params["password"] = password
    if spec.passfile:
        params["passfile"] = os.path.expanduser(spec.passfile)
    if spec.service:
        params["service"] = spec.service
    if spec.sslmode:
        params["sslmode"] = spec.sslmode
    if spec.sslrootcert:
        params["sslrootcert"] = os.path.expanduser(spec.sslrootcert)
    if statement_timeout is not None:
        params["options"] = f"-c statement_timeout={math.ceil(statement_timeout * 1000)}"
    try:
        return psycopg.connect(**params)
    except psycopg.Error as exc:
        raise ConnectError(error_text(exc)) from None
