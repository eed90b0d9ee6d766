"""Which node is the primary: detected from the server, never trusted from the config alone."""

from __future__ import annotations

import contextlib
from typing import Any

from clustertop.collectors.connect import ConnectError, connect_mysql, connect_postgres
from clustertop.collectors.mysql import MySQLCollector
from clustertop.collectors.postgres import PostgresCollector
from clustertop.core.nodes import NodeSpec

WRITABLE_ROLES = ("primary", "coordinator")


def detect_role(spec: NodeSpec, conn: Any) -> str:
    """primary / replica for MySQL; primary / standby / coordinator / worker for PostgreSQL."""
    reader = MySQLCollector() if spec.family == "mysql" else PostgresCollector()
    return str(reader.read(conn)["values"]["role"])


def find_writable(nodes: tuple[NodeSpec, ...], timeout: float = 3.0) -> NodeSpec:
    """The node writes go to: a primary (or Citus coordinator), as detected on the server."""
    errors = []
    for spec in sorted(nodes, key=lambda n: n.role_hint not in WRITABLE_ROLES):
        try:
            conn: Any = (
                connect_mysql(spec, connect_timeout=timeout)
                if spec.family == "mysql"
                else connect_postgres(spec, connect_timeout=timeout)
            )
        except ConnectError as exc:
            errors.append(f"{spec.name}: {exc}")
            continue
        with contextlib.closing(conn):
            if detect_role(spec, conn) in WRITABLE_ROLES:
                return spec
    detail = "; ".join(errors) if errors else "every node is a replica or standby"
    raise ConnectError(f"no writable primary found ({detail})")
