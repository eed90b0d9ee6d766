"""Fragmentation and partition skew against what the server itself reports and counts."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from clustertop.actions.seed import load_cluster
from clustertop.collectors.connect import connect_mysql, connect_postgres
from clustertop.collectors.mysql import MySQLCollector
from clustertop.collectors.postgres import PostgresCollector
from clustertop.collectors.samples import TableSample, skew
from clustertop.core.config import ClusterConfig
from tests.helpers import sql

FRAG_TABLE = "cleanup_bench.cleanup_copy"
PART_TABLE = "cleanup_bench.cleanup_partitioned"


def _read_table(cluster: ClusterConfig, name: str) -> TableSample:
    """One detail reading of one table from the primary, as the poller's detail thread does."""
    node = cluster.nodes[0]

    if cluster.family == "mysql":
        conn = connect_mysql(node, connect_timeout=5, statement_timeout=30)
        try:
            detail = MySQLCollector().read_detail(conn, [name], None)
        finally:
            conn.close()
    else:
        pg = connect_postgres(node, connect_timeout=5, statement_timeout=30)
        try:
            detail = PostgresCollector().read_detail(pg, [name], node.database)
        finally:
            pg.close()
    (table,) = detail.tables
    assert table.error is None, table.error
    return table


def _allocated_now(cluster: ClusterConfig) -> int:
    """The server's own figure for the table's allocation, read without clustertop."""
    with sql(cluster.nodes[0]) as run:
        if cluster.family == "mysql":
            (row,) = run(
                "SELECT FILE_SIZE FROM information_schema.INNODB_SYS_TABLESPACES"
                " WHERE NAME = 'cleanup_bench/cleanup_copy'"
            )
        else:
            (row,) = run(f"SELECT pg_relation_size('{FRAG_TABLE}')")
    return int(row[0])


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_fragmentation_after_deleting_half_then_rebuilding(
    engine: str, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    cluster = mariadb if engine == "mariadb" else postgres
    load_cluster(cluster, rows=200_000, seed=11, tables=("cleanup_copy",))
    with sql(cluster.nodes[0]) as run:
        run(f"DELETE FROM {FRAG_TABLE} WHERE id <= 100000")
    # InnoDB refreshes its persistent statistics a few seconds after a large change.
    deadline = time.monotonic() + 40
    while True:
        before = _read_table(cluster, FRAG_TABLE)
        ratio = before.fragmentation_ratio
        if (ratio is not None and ratio >= 0.40) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert before.fragmentation_ratio is not None and before.fragmentation_ratio >= 0.40, before
    assert before.rows == 100_000 and before.rows_exact
    if engine == "postgres":
        assert before.dead_tuples is not None and before.dead_tuples >= 90_000
    allocated_before = _allocated_now(cluster)
    with sql(cluster.nodes[0]) as run:
        run(f"OPTIMIZE TABLE {FRAG_TABLE}" if engine == "mariadb" else f"VACUUM FULL {FRAG_TABLE}")
    after = _read_table(cluster, FRAG_TABLE)
    assert after.fragmentation_ratio is not None and after.fragmentation_ratio < 0.10, after
    # Independent reading: what the rebuild really gave back is what was reported reclaimable.
    freed = allocated_before - _allocated_now(cluster)
    assert before.reclaimable_bytes is not None
    assert abs(before.reclaimable_bytes - freed) <= 0.15 * allocated_before, (
        before.reclaimable_bytes,
        freed,
        allocated_before,
    )


def _partition_for(day: datetime, names: list[str], engine: str) -> str:
    stamp = day.strftime("%Y%m%d")
    prefix = "p" if engine == "mariadb" else "cleanup_partitioned_p"
    wanted = prefix + stamp
    return wanted if wanted in names else names[0]  # earlier days fall in the first partition


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_partition_rows_and_skew_match_counts(
    engine: str, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    cluster = mariadb if engine == "mariadb" else postgres
    load_cluster(cluster, rows=30_000, seed=5, tables=("cleanup_partitioned",))
    # A known hot spot: 6,000 more rows on one day three days ago.
    hot_day = (datetime.now(UTC) - timedelta(days=3)).replace(
        hour=12, minute=0, second=0, microsecond=0
    )
    with sql(cluster.nodes[0]) as run:
        ts = hot_day.strftime("%Y-%m-%d %H:%M:%S")
        if engine == "mariadb":
            run(
                f"INSERT INTO {PART_TABLE} (id, ts, user_id, status, amount, payload)"
                " SELECT 100000 + seq, %s, 1, 'new', 1.00, 'hot' FROM cleanup_bench.seq_1_to_6000",
                (ts,),
            )
        else:
            run(
                f"INSERT INTO {PART_TABLE} (id, ts, user_id, status, amount, payload)"
                " SELECT 100000 + g, %s::timestamptz, 1, 'new', 1.00, 'hot'"
                " FROM generate_series(1, 6000) g",
                (ts + "+00",),
            )
    table = _read_table(cluster, PART_TABLE)
    names = [p.name for p in table.partitions]
    assert all(p.rows_exact for p in table.partitions)
    # The independent count: rows per calendar day, mapped to partitions by hand.
    with sql(cluster.nodes[0]) as run:
        by_day = run(
            f"SELECT DATE(ts), COUNT(*) FROM {PART_TABLE} GROUP BY 1"
            if engine == "mariadb"
            else f"SELECT (ts AT TIME ZONE 'UTC')::date, count(*) FROM {PART_TABLE} GROUP BY 1"
        )
    expected: dict[str, int] = dict.fromkeys(names, 0)
    for day, count in by_day:
        expected[_partition_for(datetime.combine(day, datetime.min.time()), names, engine)] += int(
            count
        )
    reported = {p.name: p.rows for p in table.partitions}
    for name in names:
        assert abs(reported[name] - expected[name]) <= max(1, 0.05 * expected[name]), name
    assert table.rows == 36_000
    populated = [v for v in expected.values() if v > 0]
    assert table.partition_skew == pytest.approx(skew(populated), rel=0.05)
    hot = _partition_for(hot_day, names, engine)
    assert reported[hot] == max(reported.values())


def test_postgres_rereads_a_table_once_it_changes_and_not_before(postgres: ClusterConfig) -> None:
    """Counts and bloat of a quiet table are reused between passes (they cost the server a
    scan); a write shows within a pass or two, exactly."""
    load_cluster(postgres, rows=3_000, seed=12, tables=("cleanup_copy",))
    node = postgres.nodes[0]
    conn = connect_postgres(node, connect_timeout=5, statement_timeout=30)
    collector = PostgresCollector()
    try:
        def rows() -> int | None:
            (table,) = collector.read_detail(conn, [FRAG_TABLE], node.database).tables
            return table.rows

        def queries_of_a_pass() -> tuple[int | None, int]:
            before = collector.activity.total("queries")
            return rows(), collector.activity.total("queries") - before

        assert queries_of_a_pass()[0] == 3_000  # the first pass also learns the extensions
        count, cached = queries_of_a_pass()
        assert count == 3_000
        with sql(node) as run:
            run(f"DELETE FROM {FRAG_TABLE} WHERE id <= 7")
        passes = []
        deadline = time.monotonic() + 10
        while (not passes or passes[-1][0] != 2_993) and time.monotonic() < deadline:
            time.sleep(0.5)
            passes.append(queries_of_a_pass())
        # The count(*) again, its stats published at once (PostgreSQL 15+: Read/s leaves its
        # rows out in the right interval), and pgstattuple_approx again.
        flush = 1 if conn.info.server_version >= 150000 else 0
        assert passes[-1] == (2_993, cached + 2 + flush)
        assert queries_of_a_pass() == (2_993, cached)  # and then not, until the next change
    finally:
        conn.close()
