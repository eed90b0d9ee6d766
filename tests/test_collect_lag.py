"""Replication lag against the clock: stop the apply, write, and the heartbeat lag must read
the time since the stop; resume, and it must fall back under a second."""

from __future__ import annotations

import contextlib
import time

import pytest

from clustertop.core.config import ClusterConfig
from tests.helpers import node_sample, poller_for, sql, wait_for


def _warm(poller, replica: str) -> None:  # type: ignore[no-untyped-def]
    """Rounds until the replica reads a heartbeat our writer wrote."""

    def fresh() -> bool:
        sample = node_sample(poller.poll_round(), replica)
        return sample.up and sample.heartbeat_lag_s is not None and sample.heartbeat_lag_s < 1

    assert wait_for(fresh, timeout=15, step=0.3)


def _write_for(node, seconds: float) -> int:  # type: ignore[no-untyped-def]
    written = 0
    deadline = time.monotonic() + seconds
    with sql(node) as run:
        if node.family == "mysql":
            run("CREATE DATABASE IF NOT EXISTS clustertop")
        run(
            "CREATE TABLE IF NOT EXISTS lagcheck_rows (id int)"
            if node.family == "postgres"
            else "CREATE TABLE IF NOT EXISTS clustertop.lagcheck_rows (id int)"
        )
        target = "lagcheck_rows" if node.family == "postgres" else "clustertop.lagcheck_rows"
        while time.monotonic() < deadline:
            run(f"INSERT INTO {target} VALUES (1)")
            written += 1
            time.sleep(0.01)
    return written


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_heartbeat_lag_follows_the_clock_when_apply_stops(
    engine: str, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    cluster = mariadb if engine == "mariadb" else postgres
    primary, replica = cluster.nodes
    poller = poller_for(cluster)
    try:
        _warm(poller, replica.name)
        with sql(replica) as run:
            if engine == "mariadb":
                run("STOP SLAVE SQL_THREAD")
            else:
                run("SELECT pg_wal_replay_pause()")
            stopped = time.monotonic()
            try:
                assert _write_for(primary, 3.0) > 50
                round_ = poller.poll_round()
                elapsed = time.monotonic() - stopped
                sample = node_sample(round_, replica.name)
                (rep,) = sample.replication
                assert rep.heartbeat_lag_s is not None
                assert rep.heartbeat_lag_s >= 2.5
                # Against the clock: the apply stopped `elapsed` seconds ago (one heartbeat
                # interval and the poll's own time of slack either way).
                assert elapsed - 0.4 <= rep.heartbeat_lag_s <= elapsed + 0.2
                # The engine's own figure is not to be trusted with apply stopped.
                assert rep.engine_lag_s is None
                assert rep.running is False
                if engine == "mariadb":
                    assert rep.sql_running == "No" and rep.io_running == "Yes"
                else:
                    assert rep.sql_running == "paused"
                    primary_sample = node_sample(round_, primary.name)
                    (sender,) = primary_sample.senders
                    assert sender.replay_bytes_behind and sender.replay_bytes_behind > 0
                    assert sender.sent_bytes_behind is not None
                    assert sender.sent_bytes_behind <= sender.replay_bytes_behind
            finally:
                if engine == "mariadb":
                    run("START SLAVE SQL_THREAD")
                else:
                    run("SELECT pg_wal_replay_resume()")
        resumed = time.monotonic()

        def caught_up() -> bool:
            time.sleep(0.5)
            s = node_sample(poller.poll_round(), replica.name)
            return s.heartbeat_lag_s is not None and s.heartbeat_lag_s < 1.0

        assert wait_for(caught_up, timeout=10)
        assert time.monotonic() - resumed < 10
    finally:
        poller.close()


def test_stopped_io_thread_reads_unknown_not_zero(mariadb: ClusterConfig) -> None:
    _primary, replica = mariadb.nodes
    poller = poller_for(mariadb)
    try:
        _warm(poller, replica.name)
        with sql(replica) as run:
            run("STOP SLAVE IO_THREAD")
            try:
                time.sleep(1.5)
                sample = node_sample(poller.poll_round(), replica.name)
                (rep,) = sample.replication
                assert rep.io_running == "No"
                assert rep.engine_lag_s is None  # unknown, with the thread state beside it
                assert rep.heartbeat_lag_s is not None and rep.heartbeat_lag_s >= 1.0
            finally:
                run("START SLAVE IO_THREAD")
    finally:
        poller.close()


def test_catchup_rate_is_positive_while_recovering(mariadb: ClusterConfig) -> None:
    primary, replica = mariadb.nodes
    poller = poller_for(mariadb)
    try:
        _warm(poller, replica.name)
        with sql(replica) as run:
            run("STOP SLAVE SQL_THREAD")
            try:
                _write_for(primary, 2.0)
                for _ in range(3):
                    poller.poll_round()
                    time.sleep(0.5)
            finally:
                run("START SLAVE SQL_THREAD")
        rates = []
        for _ in range(4):
            time.sleep(0.5)
            (rep,) = node_sample(poller.poll_round(), replica.name).replication
            if rep.catchup_rate is not None:
                rates.append(rep.catchup_rate)
        # Lag fell from > 2 s to ~0 within the window: seconds recovered per second > 0.
        assert rates and max(rates) > 0.3
    finally:
        poller.close()


@pytest.fixture(autouse=True)
def _resume_replication(mariadb: ClusterConfig, postgres: ClusterConfig):  # type: ignore[no-untyped-def]
    yield
    with contextlib.suppress(Exception), sql(mariadb.nodes[1]) as run:
        run("START SLAVE")
    with contextlib.suppress(Exception), sql(postgres.nodes[1]) as run:
        run("SELECT pg_wal_replay_resume()")


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_a_monitor_started_during_an_outage_reads_the_lag_at_once_when_another_writer_runs(
    engine: str, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    """One clustertop (or pt-heartbeat) keeps the heartbeat fresh; the replica's apply stops;
    a second clustertop started 4 s later must read the whole lag at once - not the lower
    bound it would have to say if nobody had been writing before it."""
    cluster = mariadb if engine == "mariadb" else postgres
    _primary, replica = cluster.nodes
    first = poller_for(cluster)
    second = None
    try:
        _warm(first, replica.name)
        with sql(replica) as run:
            run("STOP SLAVE SQL_THREAD" if engine == "mariadb" else "SELECT pg_wal_replay_pause()")
            stopped = time.monotonic()
            try:
                time.sleep(4.0)
                second = poller_for(cluster)
                second.poll_round()  # its writer starts here, on a row the first keeps fresh

                def read() -> float | None:
                    (rep,) = node_sample(second.poll_round(), replica.name).replication
                    assert not rep.heartbeat_lower_bound
                    return rep.heartbeat_lag_s

                lag = wait_for(read, timeout=5, step=0.2)
                elapsed = time.monotonic() - stopped
                assert lag is not None and elapsed - 1.5 <= lag <= elapsed + 0.3, (lag, elapsed)
            finally:
                run("START SLAVE SQL_THREAD" if engine == "mariadb" else "SELECT pg_wal_replay_resume()")
    finally:
        first.close()
        if second is not None:
            second.close()
