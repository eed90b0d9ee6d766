"""One line of text for any database error, with no password in it (drivers never echo one)."""

from __future__ import annotations

import contextlib
from typing import Any

import pymysql


def error_text(exc: BaseException) -> str:
    args: tuple[Any, ...] = getattr(exc, "args", ())
    if isinstance(exc, pymysql.err.MySQLError) and len(args) >= 2:
        return f"({args[0]}) {args[1]}"
    return " ".join(str(exc).split()) or type(exc).__name__


def close_quietly(conn: Any) -> None:
    """Close a connection that may already be broken; there is nothing left to report."""
    if conn is not None:
        with contextlib.suppress(Exception):
            conn.close()
