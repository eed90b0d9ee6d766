"""The lab's TimescaleDB node: a PostgreSQL server loading the timescaledb extension, when it is
installed, with the cleanup data loaded as a hypertable of one chunk a day beside the plain
and partitioned tables, so the cleanup methods can be compared on it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clustertop.lab.binaries import find_postgres
from clustertop.lab.postgres_server import LAB_DATABASE, PostgresServer

TIMESCALE_CLUSTER = "lab-timescaledb"
HYPERTABLE_NAME = "cleanup_hyper"  # actions.seed.HYPERTABLE
SEED_ROWS = 20_000
Progress = Callable[[str], None]

if TYPE_CHECKING:
    from clustertop.lab.lab import Lab


def up(
    lab: Lab, node_for: Any, started: list[Any], created: list[Path], progress: Progress
) -> tuple[str | None, bool]:
    """Start (or reuse) the node; (a line saying why not when the extension is missing, whether
    it was created now and so needs its data)."""
    binaries = find_postgres()
    if not binaries.has_extension("timescaledb"):
        return (
            "lab-timescaledb skipped: the timescaledb extension is not installed for "
            f"PostgreSQL {binaries.version} (no {binaries.sharedir}/extension/"
            "timescaledb.control; build it with ../shared/tools/build-timescaledb)"
        ), False
    node, _ = node_for(TIMESCALE_CLUSTER, "primary", "postgres", "primary", 1, None)
    node.preload = "timescaledb"
    server = PostgresServer(node, binaries, lab.pgpass)
    fresh = not server.initialised
    lab._start_pg(server, started, created, progress, clone_from=None)
    if fresh:
        progress(f"{TIMESCALE_CLUSTER}: CREATE EXTENSION timescaledb")
        with server.connect(LAB_DATABASE) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    return None, fresh


def seed(lab: Lab, progress: Progress) -> None:
    """The cleanup data, hypertable included (after the config is written: the loader reads
    the cluster from it)."""
    from clustertop.actions.seed import HYPERTABLE, TABLES, load_cluster
    from clustertop.core.config import load_config

    cluster = load_config(lab.config_path).clusters[TIMESCALE_CLUSTER]
    load_cluster(cluster, rows=SEED_ROWS, tables=(*TABLES, HYPERTABLE), progress=progress)
