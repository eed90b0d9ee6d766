"""The lab's Citus cluster: a coordinator and two workers with a distributed table, when the
citus extension is installed, and one more empty worker on demand."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clustertop.core.errors import InputError
from clustertop.lab.binaries import find_postgres
from clustertop.lab.nodes import LabNode
from clustertop.lab.postgres_server import LAB_DATABASE, PostgresServer
from clustertop.lab.processes import free_port

CITUS_CLUSTER = "lab-citus"
Progress = Callable[[str], None]

if TYPE_CHECKING:
    from clustertop.lab.lab import Lab


def up(
    lab: Lab, node_for: Any, started: list[Any], created: list[Path], progress: Progress
) -> str | None:
    """Start (or reuse) the Citus cluster; a line saying why not when Citus is missing."""
    binaries = find_postgres()
    if not binaries.has_extension("citus"):
        return (
            "lab-citus skipped: the citus extension is not installed for PostgreSQL "
            f"{binaries.version} (no {binaries.sharedir}/extension/citus.control)"
        )
    cluster = CITUS_CLUSTER
    coordinator, _ = node_for(cluster, "coordinator", "citus", "coordinator", 1, None)
    workers = [
        node_for(cluster, f"worker{i}", "citus", "worker", 1 + i, None)[0] for i in (1, 2)
    ]
    servers = [PostgresServer(n, binaries, lab.pgpass) for n in (coordinator, *workers)]
    fresh = not servers[0].initialised
    for server in servers:
        lab._start_pg(server, started, created, progress, clone_from=None)
    if fresh:
        progress(f"{cluster}: adding workers and a distributed table")
        with servers[0].connect(LAB_DATABASE) as conn:
            conn.execute(
                "SELECT citus_set_coordinator_host('127.0.0.1', %s)", (coordinator.port,)
            )
            for worker in workers:
                conn.execute("SELECT citus_add_node('127.0.0.1', %s)", (worker.port,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS lab_events ("
                " tenant_id int NOT NULL, id bigserial, ts timestamptz NOT NULL DEFAULT now(),"
                " payload text, PRIMARY KEY (tenant_id, id))"
            )
            conn.execute("SELECT create_distributed_table('lab_events', 'tenant_id')")
            conn.execute(
                "INSERT INTO lab_events (tenant_id, payload)"
                " SELECT (g % 64), md5(g::text) FROM generate_series(1, 10000) g"
            )
    return None

def add_worker(lab: Lab, progress: Progress) -> LabNode:
    """One more empty worker for lab-citus: the imbalance a rebalance then evens out."""
    nodes = lab.nodes()
    cluster = CITUS_CLUSTER
    citus = [n for n in nodes if n.cluster == cluster]
    coordinator = next((n for n in citus if n.role == "coordinator"), None)
    if coordinator is None:
        raise InputError(
            "lab add-worker", cluster, "no Citus cluster: run `lab up --engines citus`"
        )
    number = 1 + max(
        (int(n.name.removeprefix("worker")) for n in citus if n.name.startswith("worker")),
        default=0,
    )
    taken = {n.port for n in nodes}
    node = LabNode(
        cluster,
        f"worker{number}",
        "citus",
        "worker",
        free_port(taken),
        str(lab.root / cluster / f"worker{number}"),
        1 + number,
        None,
    )
    binaries = find_postgres()
    server = PostgresServer(node, binaries, lab.pgpass)
    started: list[Any] = []
    created: list[Path] = []
    try:
        lab._start_pg(server, started, created, progress, clone_from=None)
        progress(f"{cluster}: citus_add_node 127.0.0.1:{node.port}")
        with PostgresServer(coordinator, binaries, lab.pgpass).connect(LAB_DATABASE) as conn:
            conn.execute("SELECT citus_add_node('127.0.0.1', %s)", (node.port,))
    except BaseException:
        for running in started:
            running.stop()
        for path in created:
            shutil.rmtree(path, ignore_errors=True)
        raise
    lab._save([*nodes, node])
    lab.write_config()
    return node

