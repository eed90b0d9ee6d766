"""What a database error is, in one place for both drivers: its code, one line of text with no
password in it (drivers never echo one), its kind for counting, and whether it was a lock
conflict that rolled the statement back whole (safe to run again)."""

from __future__ import annotations

import contextlib
from typing import Any

import psycopg
import pymysql

from clustertop.core.errors import OperationFailed
from clustertop.core.text import printable

# A privilege the user lacks: MySQL 1227 (needs SUPER/...), 1142/1143 (table/column), 1044.
ACCESS_DENIED = (1227, 1142, 1143, 1044)


class MissingPrivilege(OperationFailed):
    """The monitoring user lacks a grant: one line saying which."""


# PostgreSQL's SQLSTATE for a privilege the role lacks.
POSTGRES_INSUFFICIENT_PRIVILEGE = "42501"


def is_missing_privilege(exc: BaseException) -> bool:
    """The server refused a statement for a privilege the user lacks (not a bad statement)."""
    code = error_code(exc)
    return code in ACCESS_DENIED or code == POSTGRES_INSUFFICIENT_PRIVILEGE


def unknown_for(figure: str, grant: str) -> str:
    """The note shown for a figure a missing grant keeps unknown: `figure: needs GRANT ...`."""
    return f"{figure}: needs GRANT {grant}"


# Deadlock victim, lock wait given up: MySQL error numbers and PostgreSQL SQLSTATEs.
MYSQL_LOCK_CONFLICTS = (1205, 1213)
POSTGRES_LOCK_CONFLICTS = ("40P01", "55P03")


def error_code(exc: BaseException) -> int | str | None:
    """MySQL's error number or PostgreSQL's SQLSTATE; None for anything else."""
    if isinstance(exc, pymysql.err.MySQLError):
        args: tuple[Any, ...] = exc.args
        return args[0] if args and isinstance(args[0], int) else None
    if isinstance(exc, psycopg.Error):
        return exc.sqlstate
    return None


def error_text(exc: BaseException) -> str:
    """One line, with any control character a server put in its message shown escaped."""
    args: tuple[Any, ...] = getattr(exc, "args", ())
    if isinstance(exc, pymysql.err.MySQLError) and len(args) >= 2:
        return printable(" ".join(f"({args[0]}) {args[-1]}".split()))
    return printable(" ".join(str(exc).split())) or type(exc).__name__


def error_kind(exc: BaseException) -> str:
    """The exception's class and code, e.g. `OperationalError 1213`: errors counted by kind."""
    code = error_code(exc)
    return type(exc).__name__ + (f" {code}" if code else "")


def is_lock_conflict(exc: BaseException) -> bool:
    """A deadlock or a lock wait given up: the statement rolled back whole and may run again."""
    code = error_code(exc)
    return code in MYSQL_LOCK_CONFLICTS or code in POSTGRES_LOCK_CONFLICTS


def close_quietly(conn: Any) -> None:
    """Close a connection that may already be broken; there is nothing left to report."""
    if conn is not None:
        with contextlib.suppress(Exception):
            conn.close()
