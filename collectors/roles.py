"""Which node is the primary: detected from the server, never trusted from the config alone."""

from __future__ import annotations

import contextlib
from typing import Any

from collectors.connect import ConnectError, connect_mysql, connect_postgres
from collectors.nodes import NodeSpec

WRITABLE_ROLES = ("primary", "coordinator")


def detect_role(spec: NodeSpec, conn: Any) -> str:
    """primary / replica for MySQL; primary / standby / coordinator / worker for PostgreSQL."""
    if spec.family == "mysql":
        with conn.cursor() as cur:
            cur.execute("SHOW SLAVE STATUS") if _is_mariadb(cur) else cur.execute(
                "SHOW REPLICA STATUS"
            )
            if cur.fetchone():
                return "replica"
            return "primary"
    row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
    if row and row[0]:
        return "standby"
    citus = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'").fetchone()
    if citus:
        groupid = conn.execute("SELECT groupid FROM pg_dist_local_group").fetchone()
        return "coordinator" if groupid and groupid[0] == 0 else "worker"
    return "primary"


def _is_mariadb(cur: Any) -> bool:
    cur.execute("SELECT VERSION()")
    row = cur.fetchone()
    return bool(row) and "MariaDB" in str(row[0])


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
