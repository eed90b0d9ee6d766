"""Ending a session on a node: cancel its statement (pg_cancel_backend / KILL QUERY) or end the
session (pg_terminate_backend / KILL CONNECTION). The session is read first, so that what is
confirmed (its user, its statement) is what gets ended, and clustertop's own sessions are
refused: they are stopped from clustertop (a job's `x`, or quitting)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
import pymysql

from clustertop.actions.sql import mysql as mysql_sql
from clustertop.actions.sql import postgres as postgres_sql
from clustertop.collectors.engines import adapter_for
from clustertop.collectors.errors import close_quietly, error_text
from clustertop.collectors.sessions import SessionSample
from clustertop.core.errors import InputError, OperationFailed
from clustertop.core.nodes import NodeSpec

DB_ERRORS = (psycopg.Error, pymysql.err.MySQLError, OSError)


@dataclass(frozen=True)
class SessionTarget:
    node: NodeSpec
    session: SessionSample
    query_only: bool  # cancel the statement, keep the session

    def describe(self) -> str:
        what = "cancel the statement of" if self.query_only else "end"
        s = self.session
        return (
            f"{what} session {s.id} on {self.node.key} (user {s.user or '?'}, {s.state or '?'}"
            f"): {s.statement or 'no statement'}"
        )


def _connect(node: NodeSpec) -> Any:
    return adapter_for(node).connect(node, connect_timeout=3, statement_timeout=5)


def find_session(node: NodeSpec, session_id: int, query_only: bool) -> SessionTarget:
    """The session as the node shows it now; a one-line error when it is not there or is
    one of clustertop's own."""
    adapter = adapter_for(node)
    conn = _connect(node)
    try:
        sample = adapter.collector(None).sessions(conn)
    except DB_ERRORS as exc:
        raise OperationFailed(f"{node.key}: sessions not readable: {error_text(exc)}") from exc
    finally:
        close_quietly(conn)
    session = sample.session(session_id)
    if session is None:
        raise InputError("--session", session_id, f"is not a session on {node.key} now")
    if session.own:
        raise InputError(
            "--session",
            session_id,
            "is one of clustertop's own sessions (its poller, heartbeat writer or a job): stop"
            " the job with x on the Jobs screen, or quit clustertop",
        )
    return SessionTarget(node, session, query_only)


def end_session(target: SessionTarget) -> str:
    """Send the cancel or the end; what happened, in a line."""
    node, session_id = target.node, target.session.id
    conn = _connect(node)
    try:
        if adapter_for(node).family == "postgres":
            statement = (
                postgres_sql.CANCEL_BACKEND if target.query_only else postgres_sql.TERMINATE_BACKEND
            )
            row = conn.execute(statement, (session_id,)).fetchone()
            if not row or not row[0]:
                raise OperationFailed(f"session {session_id} on {node.key} is gone or not ours "
                                      "to signal")
        else:
            statement = mysql_sql.KILL_QUERY if target.query_only else mysql_sql.KILL_CONNECTION
            with conn.cursor() as cur:
                cur.execute(statement, (session_id,))
    except DB_ERRORS as exc:
        raise OperationFailed(
            f"session {session_id} on {node.key}: {error_text(exc)}"
        ) from exc
    finally:
        close_quietly(conn)
    done = "statement cancelled" if target.query_only else "session ended"
    return f"{node.key} session {session_id}: {done}"
