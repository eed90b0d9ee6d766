"""Polling every node in its own thread, with deadlines, so one dead node never stalls the rest.

Each node has one session: a connection, a reader, and a reconnect backoff. A round starts one
thread per idle node and waits until a deadline; a node whose thread is still busy from an
earlier round is not polled again (so polls of a node never overlap) and reads as DOWN.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import pymysql

from collectors.connect import ConnectError, connect_mysql, connect_postgres
from collectors.mysql import MySQLNodeReader
from collectors.nodes import NodeSpec
from collectors.postgres import PostgresNodeReader
from collectors.samples import NodeSample, PollRound

MAX_BACKOFF_S = 5.0


@dataclass(frozen=True)
class PollTarget:
    spec: NodeSpec
    connect_timeout: float = 0.8
    statement_timeout: float = 0.8


class NodeSession:
    """One node's connection and reader; used by one thread at a time."""

    def __init__(self, target: PollTarget) -> None:
        self.target = target
        self.spec = target.spec
        self.conn: Any = None
        self.reader: Any = (
            MySQLNodeReader() if self.spec.family == "mysql" else PostgresNodeReader()
        )
        self.backoff = 0.0
        self.next_attempt = 0.0
        self.last_error: str | None = None
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.started_at = 0.0
        self.result: NodeSample | None = None

    def _down(self, at: float, error: str, started: float) -> NodeSample:
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
        )

    def _connect(self) -> Any:
        kwargs = {
            "connect_timeout": self.target.connect_timeout,
            "statement_timeout": self.target.statement_timeout,
        }
        if self.spec.family == "mysql":
            return connect_mysql(self.spec, **kwargs)
        return connect_postgres(self.spec, **kwargs)

    def collect(self) -> NodeSample:
        at = time.time()
        started = time.perf_counter()
        if self.conn is None:
            if time.monotonic() < self.next_attempt:
                wait = self.next_attempt - time.monotonic()
                return self._down(at, f"{self.last_error} (retry in {wait:.1f} s)", started)
            try:
                self.conn = self._connect()
            except ConnectError as exc:
                self.backoff = min(MAX_BACKOFF_S, max(0.5, self.backoff * 2))
                self.next_attempt = time.monotonic() + self.backoff
                return self._down(at, str(exc), started)
            self.backoff = 0.0
        try:
            values = self.reader.read(self.conn)
        except (pymysql.err.MySQLError, psycopg.Error, OSError, AssertionError) as exc:
            self.close()
            return self._down(at, _error_text(exc), started)
        self.last_error = None
        return NodeSample(
            cluster=self.spec.cluster,
            node=self.spec.name,
            engine=self.spec.engine,
            address=self.spec.address,
            at=at,
            up=True,
            poll_ms=(time.perf_counter() - started) * 1000,
            **values,
        )

    def run_in_thread(self) -> None:
        def target() -> None:
            self.result = self.collect()

        self.result = None
        self.started_at = time.monotonic()
        self.thread = threading.Thread(target=target, name=f"poll-{self.spec.key}", daemon=True)
        self.thread.start()

    @property
    def busy(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def abort(self) -> None:
        """Unblock a call stuck on a server that stopped answering: shut its socket down."""
        conn = self.conn
        if conn is None:
            return
        fd = -1
        with contextlib.suppress(Exception):
            fd = conn.pgconn.socket if self.spec.family == "postgres" else conn._sock.fileno()
        if fd >= 0:
            with contextlib.suppress(OSError):
                sock = socket.socket(fileno=socket.dup(fd))
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


def _error_text(exc: BaseException) -> str:
    args = getattr(exc, "args", ())
    if isinstance(exc, pymysql.err.MySQLError) and len(args) >= 2:
        return f"({args[0]}) {args[1]}"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


class Poller:
    """Collects one round at a time from every node; call poll_round() from one thread."""

    def __init__(self, targets: Sequence[PollTarget], round_timeout: float | None = None) -> None:
        self.sessions = [NodeSession(t) for t in targets]
        longest = max((t.connect_timeout + t.statement_timeout for t in targets), default=1.0)
        # A round waits for the slowest healthy node, never longer.
        self.round_timeout = round_timeout if round_timeout is not None else longest + 0.2

    def poll_round(self) -> PollRound:
        at = time.time()
        started = time.perf_counter()
        waiting = []
        stuck: list[NodeSession] = []
        for session in self.sessions:
            if session.busy:
                stuck.append(session)
            else:
                session.run_in_thread()
                waiting.append(session)
        deadline = time.monotonic() + self.round_timeout
        for session in waiting:
            assert session.thread is not None
            session.thread.join(max(0.0, deadline - time.monotonic()))
        samples = []
        for session in self.sessions:
            if not session.busy and session.result is not None and session in waiting:
                samples.append(session.result)
                continue
            hung_for = time.monotonic() - session.started_at
            if hung_for > 3 * self.round_timeout:
                session.abort()
            samples.append(
                session._down(
                    at,
                    f"no answer within {self.round_timeout:.1f} s (waiting {hung_for:.1f} s)",
                    started,
                )
            )
        return PollRound(
            at=at, nodes=tuple(samples), duration_ms=(time.perf_counter() - started) * 1000
        )

    def close(self) -> None:
        for session in self.sessions:
            if not session.busy:
                session.close()
            else:
                session.abort()
