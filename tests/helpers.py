"""Small helpers for tests that talk to the lab's real servers."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from clustertop.collectors.connect import connect_mysql, connect_postgres
from clustertop.collectors.poller import Poller, PollTarget
from clustertop.collectors.samples import DetailSample, NodeSample, PollRound
from clustertop.core.config import ClusterConfig
from clustertop.core.nodes import NodeSpec

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 15.0, step: float = 0.1) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def hold_a_heartbeat(cluster: ClusterConfig) -> None:
    """Write heartbeats (as a cleanup does) until every replica's lag reads from one."""
    from clustertop.actions.cleanup.throttle import ClusterGauge

    gauge = ClusterGauge(cluster, cluster.nodes[0].name).start()
    try:
        def known() -> bool:
            reading = gauge.latest
            return reading is not None and reading.lag_unknown is None and reading.lag_s is not None

        assert wait_for(known, 30), gauge.latest
    finally:
        gauge.close()


@contextlib.contextmanager
def sql(node: NodeSpec) -> Iterator[Any]:
    """A cursor-like executor on a node: `run(statement, args)` returns all rows."""
    if node.family == "mysql":
        conn = connect_mysql(node, connect_timeout=5)
        cur = conn.cursor()

        def run_mysql(statement: str, args: Any = None) -> list[Any]:
            cur.execute(statement, args)
            return list(cur.fetchall())

        try:
            yield run_mysql
        finally:
            conn.close()
    else:
        pg = connect_postgres(node, connect_timeout=5)

        def run_pg(statement: str, args: Any = None) -> list[Any]:
            result = pg.execute(statement, args)
            return list(result.fetchall()) if result.description else []

        try:
            yield run_pg
        finally:
            pg.close()


def poller_for(cluster: ClusterConfig, **overrides: Any) -> Poller:
    targets = [
        PollTarget(
            spec=node,
            connect_timeout=overrides.get("connect_timeout", 0.8),
            statement_timeout=overrides.get("statement_timeout", 0.8),
            heartbeat_table=overrides.get("heartbeat_table", cluster.heartbeat_table),
            watched_tables=overrides.get("watched_tables", cluster.watched_tables),
            detail_interval=overrides.get("detail_interval", 1.0),
            detail_timeout=overrides.get("detail_timeout", 20.0),
        )
        for node in cluster.nodes
    ]
    return Poller(targets)


def node_sample(round_: PollRound, name: str) -> NodeSample:
    return next(n for n in round_.nodes if n.node == name)


def first_detail(target: PollTarget, timeout: float = 20.0) -> DetailSample | None:
    """The first slow reading (statements, tables) of one node, as the poller hands it over."""
    poller = Poller([target])
    try:
        poller.poll_round()
        poller.wait_for_details(timeout)
        return poller.poll_round().nodes[0].detail
    finally:
        poller.close()


def set_replica_apply(cluster: ClusterConfig, running: bool) -> None:
    """Stop or start the first replica's apply (SQL thread / WAL replay); its IO goes on, so
    the lag grows while stopped. Before a stop, the replicas are made to hold a heartbeat from
    the primary: one that has never applied any has no lag to read once stopped (unknown, not
    growing), which a test run alone, before any other wrote one, met."""
    if not running:
        hold_a_heartbeat(cluster)
    with sql(cluster.nodes[1]) as run:
        if cluster.family == "mysql":
            run("START SLAVE SQL_THREAD" if running else "STOP SLAVE SQL_THREAD")
        else:
            run("SELECT pg_wal_replay_resume()" if running else "SELECT pg_wal_replay_pause()")
