"""What `lab status` reports of each node: up, replicating, and a line of detail, read from
the server itself over the lab's own accounts."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import psycopg
import pymysql

from clustertop.lab.mysql_server import LAB_USER as MYSQL_LAB_USER
from clustertop.lab.nodes import LabNode
from clustertop.lab.postgres_server import LAB_USER


@dataclass(frozen=True)
class NodeStatus:
    cluster: str
    name: str
    engine: str
    role: str
    port: int
    pid: int | None
    up: bool
    replicating: bool | None  # None for a node that replicates from nobody
    detail: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def node_status(
    node: LabNode, pid: int | None, password: str, pgpass: Path
) -> NodeStatus:
    up, replicating, detail = False, None, "not running"
    if pid:
        try:
            if node.family == "mysql":
                up, replicating, detail = _mysql_status(node, password)
            else:
                up, replicating, detail = _postgres_status(node, pgpass)
        except (pymysql.err.MySQLError, psycopg.Error, OSError) as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return NodeStatus(
        node.cluster, node.name, node.engine, node.role, node.port, pid, up, replicating, detail
    )


def _mysql_status(node: LabNode, password: str) -> tuple[bool, bool | None, str]:
    tls: dict[str, Any] = (
        {"ssl_ca": str(Path(node.datadir).parent.parent / "tls" / "ca.pem")} if node.tls else {}
    )
    conn = pymysql.connect(
        host="127.0.0.1",
        port=node.port,
        **tls,
        user=MYSQL_LAB_USER,
        password=password,
        connect_timeout=2,
        read_timeout=5,
    )
    with contextlib.closing(conn), conn.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SELECT VERSION() AS v")
        version = cast("dict[str, Any]", cur.fetchone())["v"]  # VERSION() always returns a row
        if node.role != "replica":
            return True, None, version
        cur.execute("SHOW SLAVE STATUS")
        row = cur.fetchone() or {}
        io = row.get("Slave_IO_Running") or row.get("Replica_IO_Running")
        sql = row.get("Slave_SQL_Running") or row.get("Replica_SQL_Running")
        ok = io == "Yes" and sql == "Yes"
        return True, ok, f"io={io} sql={sql}"


def _postgres_status(node: LabNode, passfile: Path) -> tuple[bool, bool | None, str]:
    with psycopg.connect(
        host="127.0.0.1",
        port=node.port,
        user=LAB_USER,
        dbname="postgres",
        passfile=str(passfile),
        connect_timeout=2,
    ) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        if node.role != "standby":
            return True, None, f"PostgreSQL {version}"
        row = conn.execute("SELECT status FROM pg_stat_wal_receiver").fetchone()
        status = row[0] if row else "no wal receiver"
        return True, status == "streaming", f"wal receiver {status}"
