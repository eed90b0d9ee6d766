"""TPS, QPS and row rates against a known count of committed transactions."""

from __future__ import annotations

import threading
import time

import pytest

from clustertop.collectors.poller import Poller, PollTarget
from clustertop.collectors.rates import CounterRates
from clustertop.core.config import ClusterConfig
from tests.helpers import sql

RATE = 200  # transactions per second the writer aims for


def _steady_writer(node, seconds: float, stamps: list[float]) -> None:  # type: ignore[no-untyped-def]
    """Commit one explicit two-statement transaction every 1/RATE s; record each commit."""
    table = "tps_rows" if node.family == "postgres" else "clustertop.tps_rows"
    with sql(node) as run:
        if node.family == "mysql":
            run("CREATE DATABASE IF NOT EXISTS clustertop")
        run(f"CREATE TABLE IF NOT EXISTS {table} (id int, v int)")
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < seconds:
            run("BEGIN")
            run(f"INSERT INTO {table} VALUES (%s, 1)", (n,))
            run(f"UPDATE {table} SET v = v + 1 WHERE id = %s", (n,))
            run("COMMIT")
            stamps.append(time.monotonic())
            n += 1
            pause = start + n / RATE - time.monotonic()
            if pause > 0:
                time.sleep(pause)


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_tps_matches_committed_transactions_per_second(
    engine: str, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    cluster = mariadb if engine == "mariadb" else postgres
    primary = cluster.nodes[0]
    poller = Poller([PollTarget(primary, heartbeat_table=cluster.heartbeat_table)])
    stamps: list[float] = []
    # PostgreSQL 15 publishes a backend's counts about once a second, so one interval can hold
    # two seconds of commits and the next none; when the empty one falls just outside the
    # window, a second counts twice: twenty intervals bound that to 5%.
    writer = threading.Thread(target=_steady_writer, args=(primary, 25.0, stamps))
    try:
        poller.poll_round()
        writer.start()
        samples = []
        while writer.is_alive():
            time.sleep(1.0)
            samples.append((time.monotonic(), poller.poll_round().nodes[0]))
        writer.join()
    finally:
        poller.close()
    # Leave out the first two and the last interval: the counters of PostgreSQL reach the view
    # up to a second late, so only intervals well inside the run are steady.
    middle = samples[2:-1]
    assert len(middle) >= 3
    tps = [s.throughput.tps for _, s in middle if s.throughput and s.throughput.tps is not None]
    assert len(tps) == len(middle)
    reported = sum(tps) / len(tps)
    window_start = middle[0][0] - middle[0][1].throughput.interval_s  # type: ignore[union-attr]
    window_end = middle[-1][0]
    committed = sum(1 for t in stamps if window_start <= t <= window_end)
    expected = committed / (window_end - window_start)
    assert abs(reported - expected) <= 0.10 * expected, (reported, expected, tps)
    # Each transaction inserts one row and updates one.
    inserted = [s.throughput.rows_inserted_ps for _, s in middle]  # type: ignore[union-attr]
    assert all(v is not None for v in inserted)
    assert abs(sum(inserted) / len(inserted) - expected) <= 0.15 * expected  # type: ignore[arg-type]
    qps = [s.throughput.qps for _, s in middle]  # type: ignore[union-attr]
    assert all(q is not None for q in qps)
    # At least the INSERT and the UPDATE of each transaction are statements.
    assert sum(qps) / len(qps) >= 2 * expected * 0.9, qps  # type: ignore[arg-type]


def test_a_stats_reset_gives_no_rate_rather_than_a_negative_one(postgres: ClusterConfig) -> None:
    primary = postgres.nodes[0]
    poller = Poller([PollTarget(primary, heartbeat_table=None)])
    try:
        poller.poll_round()
        time.sleep(0.3)
        with sql(primary) as run:
            for _ in range(50):
                run("SELECT 1")
            run("SELECT pg_stat_reset()")  # resets this database's counters
        time.sleep(1.2)
        sample = poller.poll_round().nodes[0]
        assert sample.throughput is not None
        # The counters went back to about zero: that is a reset, and across it no rate is known.
        assert sample.throughput.reset is True
        assert sample.throughput.tps is None and sample.throughput.rows_read_ps is None
    finally:
        poller.close()


def test_counter_rates_handle_resets_and_subtract_own_activity() -> None:
    rates = CounterRates()
    assert rates.update(0.0, {"tx": 100.0}) is None
    step = rates.update(2.0, {"tx": 300.0}, {"tx": 20.0})
    assert step is not None and step.per_second["tx"] == pytest.approx(90.0)
    back = rates.update(3.0, {"tx": 5.0}, {"tx": 20.0})
    assert back is not None and back.reset and back.per_second["tx"] is None
    after = rates.update(4.0, {"tx": 15.0}, {"tx": 25.0})
    assert after is not None and after.per_second["tx"] == pytest.approx(5.0)
    assert rates.update(4.0, {"tx": 16.0}) is None  # no time passed: no rate


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_our_exact_row_counts_stay_out_of_read_per_second(
    engine: str, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    """The detail pass counts a watched table's rows exactly (20,000 of them, every 0.5 s on
    MariaDB here: 40,000 rows/s): at idle Read/s must not show them as the cluster's reads."""
    from clustertop.actions.seed import load_cluster
    from tests.helpers import node_sample, poller_for

    cluster = mariadb if engine == "mariadb" else postgres
    load_cluster(cluster, rows=20_000, seed=4, tables=("cleanup_batch",))
    poller = poller_for(cluster, watched_tables=("cleanup_bench.cleanup_batch",),
                        detail_interval=0.5, heartbeat_table=None)
    try:
        reads = []
        for _ in range(12):
            round_ = poller.poll_round()
            sample = node_sample(round_, cluster.nodes[0].name)
            if sample.throughput is not None and sample.throughput.rows_read_ps is not None:
                reads.append(sample.throughput.rows_read_ps)
            time.sleep(0.5)
        counted = poller.sessions[0].detail.collector.activity.total("rows_read")
    finally:
        poller.close()
    # The counts did run, after the first counter reading (MariaDB counts every pass;
    # PostgreSQL keeps a count while the table's pages are unchanged).
    assert counted >= 20_000, counted
    # And Read/s did not show them (they would read 40,000/s). On PostgreSQL the detail
    # pass's catalog reads (pg_class and the like, a few thousand tuples a pass) still count
    # in pg_stat_database: its bar is higher, still far below the counts'.
    assert reads and max(reads) < (2_000 if engine == "mariadb" else 15_000), reads
