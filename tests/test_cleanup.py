"""Cleanups against the lab's real servers: the rows that remain, with a writer inserting on both
sides of the cutoff; copy losing nothing under a writer; cancel at random points; pausing on
replica lag; dry runs changing nothing; bad input."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from clustertop.actions.cleanup.job import CleanupJob, CleanupSpec
from clustertop.actions.seed import SCHEMA, load_cluster, read_seed_info, table_checksum
from clustertop.collectors.connect import connect_mysql, connect_postgres
from clustertop.collectors.errors import close_quietly
from clustertop.core.config import ClusterConfig
from clustertop.core.nodes import NodeSpec
from clustertop.lab.lab import Lab
from tests.conftest import run_cli
from tests.helpers import set_replica_apply, sql, wait_for

TABLES = {
    "partition_drop": "cleanup_partitioned",
    "truncate": "cleanup_truncate",
    "copy": "cleanup_copy",
    "batch_delete": "cleanup_batch",
}
RETENTION_DAYS = 10


def _cluster(engine: str, mariadb: ClusterConfig, postgres: ClusterConfig) -> ClusterConfig:
    return mariadb if engine == "mariadb" else postgres


def _rows(cluster: ClusterConfig, table: str) -> dict[int, datetime]:
    with sql(cluster.nodes[0]) as run:
        rows = run(f"SELECT id, ts FROM {SCHEMA}.{table}")
    return {int(i): _utc(ts) for i, ts in rows}


def _utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


class Writer:
    """Inserts a row at a time, each `ts` within two hours either side of now - retention (and
    within the day that cutoff falls in), committed one by one; remembers what it committed."""

    def __init__(self, cluster: ClusterConfig, table: str) -> None:
        self.cluster, self.table = cluster, table
        self.committed: dict[int, datetime] = {}
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Writer:
        self._thread.start()
        wait_for(lambda: len(self.committed) >= 5, timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        node = self.cluster.nodes[0]
        mysql = node.family == "mysql"
        conn: Any = (connect_mysql if mysql else connect_postgres)(node, connect_timeout=5)
        rng = random.Random(7)
        statement = (
            f"INSERT INTO {SCHEMA}.{self.table} (ts, user_id, status, amount, payload)"
            " VALUES (%s, 1, 'new', 1.00, 'writer')"
        )
        try:
            while not self._stop.is_set():
                side = rng.choice((-1, 1))
                cutoff = datetime.now(UTC) - timedelta(days=RETENTION_DAYS)
                ts = cutoff + side * timedelta(seconds=rng.uniform(60, 7200))
                # Never before the day the cutoff falls in: that day's partition is the one
                # partition_drop keeps, while the day before it is dropped during the run, and
                # an application writing into a dropped day fails by design (within two hours
                # after midnight UTC this test once did exactly that).
                day_start = cutoff.replace(hour=0, minute=0, second=0, microsecond=0)
                ts = max(ts, day_start + timedelta(seconds=rng.uniform(1, 60)))
                try:
                    if mysql:
                        with conn.cursor() as cur:
                            cur.execute(statement, (ts.replace(tzinfo=None),))
                            new_id = cur.lastrowid
                    else:
                        new_id = conn.execute(statement + " RETURNING id", (ts,)).fetchone()[0]
                except Exception as exc:  # an error the application would see: the test fails
                    self.errors.append(str(exc))
                    time.sleep(0.01)
                    continue
                self.committed[int(new_id)] = ts
                time.sleep(0.005)
        finally:
            close_quietly(conn)


def _run_job(spec: CleanupSpec, cluster: ClusterConfig, timeout: float = 120) -> CleanupJob:
    job = CleanupJob(spec, cluster.nodes[0])
    job.preflight()
    job.start()
    job.join(timeout)
    snap = job.snapshot()
    assert snap.state == "finished", (snap.error, snap.log[-5:])
    assert job.result is not None
    return job


def _spec(cluster: ClusterConfig, method: str, **overrides: Any) -> CleanupSpec:
    values: dict[str, Any] = {
        "cluster": cluster,
        "table": f"{SCHEMA}.{TABLES[method]}",
        "method": method,
        "retention_days": RETENTION_DAYS,
        "batch_size": 1000,
        "batch_delay_s": 0.02,
        "drop_old": True,
    }
    values.update(overrides)
    return CleanupSpec(**values)


@pytest.mark.parametrize("method", ["batch_delete", "copy", "partition_drop", "truncate"])
@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_the_right_rows_remain_with_a_writer_on_both_sides_of_the_cutoff(
    engine: str, method: str, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    cluster = _cluster(engine, mariadb, postgres)
    table = TABLES[method]
    load_cluster(cluster, rows=20_000, seed=3, tables=(table,))
    seeded = _rows(cluster, table)
    with Writer(cluster, table) as writer:
        job = _run_job(_spec(cluster, method), cluster)
        time.sleep(0.2)
    assert not writer.errors, writer.errors[:3]  # the cleanup never fails the application
    record = job.result
    assert record is not None
    cutoff = datetime.fromisoformat(record["cutoff"])
    high_water = record["high_water_key"]
    after = _rows(cluster, table)
    existing = {**seeded, **{i: ts for i, ts in writer.committed.items() if i <= high_water}}
    later = {i: ts for i, ts in writer.committed.items() if i > high_water}
    assert later, "the writer wrote nothing during the run"

    if method == "truncate":
        # Every seeded row went, as truncate says (MariaDB restarts the ids: count by payload).
        with sql(cluster.nodes[0]) as run:
            left = run(f"SELECT COUNT(*) FROM {SCHEMA}.{table} WHERE payload <> 'writer'")
        assert int(left[0][0]) == 0
        assert record["rows_deleted"] >= len(seeded)
        return
    newer = {i for i, ts in existing.items() if ts >= cutoff}
    assert newer <= set(after), "a row newer than the cutoff at start was removed"
    if method == "partition_drop":
        boundary = min(ts for i, ts in after.items() if i in existing)
        assert boundary < cutoff  # the straddling day stays ...
        assert cutoff - boundary < timedelta(days=1)  # ... and nothing before it
        gone = set(existing) - set(after)
        assert record["rows_deleted"] == len(gone) + sum(1 for i in later if i not in after)
        assert record["rows_left_older"] > 0  # the straddling day's older rows, said
        return
    older = {i for i, ts in existing.items() if ts < cutoff}
    assert not older & set(after), "a row older than the cutoff at start is still there"
    assert set(later) <= set(after), "a row written during the run was removed"
    assert record["rows_deleted"] == len(older) == record["rows_older_at_start"]
    assert min(ts for i, ts in after.items() if i <= high_water) >= cutoff


class CopyWriter:
    """An application writing to the table being copied, with no retry of any kind: it inserts
    rows, and updates and deletes rows of its own, PostgreSQL's through prepared statements
    (plans that must follow the table across the swap). Any error it meets is the copy's fault:
    the copy must be the side that waits, skips or retries, never the application."""

    def __init__(self, node: NodeSpec, table: str, seed: int = 11) -> None:
        self.node, self.table, self.seed = node, table, seed
        self.expected: dict[int, str] = {}  # id -> payload, for rows that should exist
        self.gone: set[int] = set()
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CopyWriter:
        self._thread.start()
        wait_for(lambda: len(self.expected) > 20 or self.failures, timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        mysql = self.node.family == "mysql"
        conn: Any = (connect_mysql if mysql else connect_postgres)(self.node, connect_timeout=5)
        rng = random.Random(self.seed)

        def run(statement: str, args: tuple[Any, ...]) -> Any:
            if mysql:
                with conn.cursor() as cur:
                    cur.execute(statement, args)
                    return cur.lastrowid
            result = conn.execute(statement, args, prepare=True)
            return result.fetchone()[0] if result.description else None

        insert = (f"INSERT INTO {self.table} (ts, user_id, status, amount, payload)"
                  " VALUES (%s, 2, 'new', 2.00, %s)" + ("" if mysql else " RETURNING id"))
        n = 0
        try:
            while not self._stop.is_set():
                n += 1
                try:
                    payload = f"w{n}"
                    stamp = datetime.now(UTC)
                    new_id = run(insert, (stamp.replace(tzinfo=None) if mysql else stamp, payload))
                    self.expected[int(new_id)] = payload
                    if n % 3 == 0 and self.expected:
                        victim = rng.choice(list(self.expected))
                        run(f"UPDATE {self.table} SET payload = %s WHERE id = %s", (f"u{n}", victim))
                        self.expected[victim] = f"u{n}"
                    if n % 5 == 0 and self.expected:
                        victim = rng.choice(list(self.expected))
                        run(f"DELETE FROM {self.table} WHERE id = %s", (victim,))
                        del self.expected[victim]
                        self.gone.add(victim)
                except Exception as exc:
                    self.failures.append(str(exc))
                    time.sleep(0.01)
        finally:
            close_quietly(conn)


def _copy_under_a_writer(cluster: ClusterConfig, seed: int) -> CopyWriter:
    """One copy of 20,000 rows in chunks of 500 while a CopyWriter runs; checks that every row
    the writer committed is there as it left it, and nothing it deleted came back."""
    load_cluster(cluster, rows=20_000, seed=4, tables=("cleanup_copy",))
    node = cluster.nodes[0]
    with CopyWriter(node, f"{SCHEMA}.cleanup_copy", seed=seed) as writer:
        job = _run_job(_spec(cluster, "copy", batch_size=500, batch_delay_s=0.01), cluster)
        time.sleep(0.3)  # the writer goes on against the swapped-in table
    with sql(node) as run_sql:
        rows = dict(run_sql(f"SELECT id, payload FROM {SCHEMA}.cleanup_copy WHERE user_id = 2"))
    missing = {i for i in writer.expected if i not in rows}
    assert not missing, f"{len(missing)} committed rows missing after the swap"
    assert all(rows[i] == p for i, p in writer.expected.items()), "an update was lost"
    assert not writer.gone & set(rows), "a deleted row came back"
    assert job.result is not None and job.result["rows_deleted"] == job.result["rows_older_at_start"]
    return writer


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_copy_loses_nothing_and_never_fails_the_applications_writes(
    engine: str, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    writer = _copy_under_a_writer(_cluster(engine, mariadb, postgres), seed=11)
    assert not writer.failures, writer.failures[:3]


class RowHolder:
    """Another session that locks one row (SELECT ... FOR UPDATE) in an open transaction and
    rolls back when released or after `hold_s`: no trigger fires, so only the copy itself can
    carry that row."""

    def __init__(self, node: NodeSpec, table: str, key: int, hold_s: float) -> None:
        self.node, self.table, self.key, self.hold_s = node, table, key, hold_s
        self.locked = threading.Event()
        self.released = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RowHolder:
        self._thread.start()
        assert self.locked.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join(self.hold_s + 10)

    def _run(self) -> None:
        mysql = self.node.family == "mysql"
        conn: Any = (connect_mysql if mysql else connect_postgres)(
            self.node, connect_timeout=5, autocommit=False
        )
        try:
            cur = conn.cursor()
            cur.execute(f"SELECT id FROM {self.table} WHERE id = %s FOR UPDATE", (self.key,))
            self.locked.set()
            self.released.wait(self.hold_s)
            conn.rollback()
        finally:
            close_quietly(conn)


def _newest_seeded_key(cluster: ClusterConfig) -> int:
    with sql(cluster.nodes[0]) as run:
        return int(run(f"SELECT MAX(id) FROM {SCHEMA}.cleanup_copy")[0][0])


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_copy_skips_a_row_another_session_holds_and_copies_it_once_released(
    engine: str, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    cluster = _cluster(engine, mariadb, postgres)
    load_cluster(cluster, rows=4_000, seed=6, tables=("cleanup_copy",))
    held = _newest_seeded_key(cluster)  # the newest row: kept by any retention
    seeded = _rows(cluster, "cleanup_copy")
    spec = _spec(cluster, "copy", batch_size=200, batch_delay_s=0.1, lock_wait_s=1.0)
    job = CleanupJob(spec, cluster.nodes[0])
    job.preflight()
    job.start()
    # Once the triggers are in place (creating them waits for every open transaction).
    assert wait_for(lambda: job.snapshot().done > 0, timeout=30)
    with RowHolder(cluster.nodes[0], f"{SCHEMA}.cleanup_copy", held, hold_s=30) as holder:
        skipped = wait_for(lambda: any("held by other sessions" in line
                                       for line in job.snapshot().log), timeout=30)
        time.sleep(1.5)  # the copy waits for the row meanwhile, and says so
        holder.released.set()
    job.join(30)
    assert skipped, job.snapshot().log[-5:]
    assert job.snapshot().state == "finished", job.snapshot().error
    after = _rows(cluster, "cleanup_copy")
    assert held in after, "the row held during its chunk never reached the copy"
    cutoff = datetime.fromisoformat(job.result["cutoff"])  # type: ignore[index]
    assert after == {i: ts for i, ts in seeded.items() if ts >= cutoff}


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_copy_gives_up_on_a_row_held_past_its_patience_and_leaves_the_table_as_it_was(
    engine: str, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    cluster = _cluster(engine, mariadb, postgres)
    load_cluster(cluster, rows=2_000, seed=6, tables=("cleanup_copy",))
    held = _newest_seeded_key(cluster)
    seeded = _rows(cluster, "cleanup_copy")
    # Patience: 10 x 0.5 s.
    spec = _spec(cluster, "copy", batch_size=200, batch_delay_s=0.1, lock_wait_s=0.5)
    job = CleanupJob(spec, cluster.nodes[0])
    job.preflight()
    job.start()
    assert wait_for(lambda: job.snapshot().done > 0, timeout=30)
    with RowHolder(cluster.nodes[0], f"{SCHEMA}.cleanup_copy", held, hold_s=60) as holder:
        job.join(60)
        holder.released.set()
    snap = job.snapshot()
    assert snap.state == "failed"
    assert snap.error is not None and "stayed locked by other sessions" in snap.error
    assert f"first key {held}" in snap.error
    assert _rows(cluster, "cleanup_copy") == seeded
    # Whatever the held row kept the failed run from removing, the next run removes first.
    rerun = _run_job(_spec(cluster, "copy"), cluster)
    cutoff = datetime.fromisoformat(rerun.result["cutoff"])  # type: ignore[index]
    assert _rows(cluster, "cleanup_copy") == {i: ts for i, ts in seeded.items() if ts >= cutoff}


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_copy_twenty_times_under_a_writer_without_one_deadlock_or_lock_timeout(
    engine: str, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    """The measurement behind bench/RESULTS.md: `./run tests -m slow -k twenty_times -s`."""
    cluster = _cluster(engine, mariadb, postgres)
    failures: list[str] = []
    writes = 0
    started = time.monotonic()
    for run in range(20):
        writer = _copy_under_a_writer(cluster, seed=100 + run)
        failures += writer.failures
        writes += len(writer.expected) + len(writer.gone)
    print(f"\n{engine}: 20 copies in {time.monotonic() - started:.0f} s, the writer's rows"
          f" {writes}, deadlocks {sum('eadlock' in f for f in failures)},"
          f" lock wait timeouts {sum('timeout' in f.lower() for f in failures)},"
          f" other errors {sum('eadlock' not in f and 'timeout' not in f.lower() for f in failures)}")
    assert not failures, failures[:3]


def _consistent(cluster: ClusterConfig, method: str, seeded: dict[int, datetime],
                cutoff_estimate: datetime) -> None:
    table = TABLES[method]
    after = _rows(cluster, table)
    # Nothing newer than the cutoff is ever lost (two minutes of slack: the job's own cutoff
    # was taken a moment after this estimate).
    newer = {i for i, ts in seeded.items() if ts >= cutoff_estimate + timedelta(minutes=2)}
    assert newer <= set(after)
    with sql(cluster.nodes[0]) as run:
        if cluster.family == "mysql":
            leftovers = run("SELECT TABLE_NAME FROM information_schema.TABLES WHERE"
                            " TABLE_SCHEMA = %s AND TABLE_NAME LIKE '\\_%%new'", (SCHEMA,))
            triggers = run("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS"
                           " WHERE EVENT_OBJECT_SCHEMA = %s", (SCHEMA,))
        else:
            leftovers = run("SELECT tablename FROM pg_tables WHERE schemaname = %s"
                            " AND tablename LIKE '\\_%%new'", (SCHEMA,))
            triggers = run("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
    assert not leftovers and not triggers, (leftovers, triggers)


@pytest.mark.parametrize("method", ["batch_delete", "copy", "partition_drop"])
@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_cancel_at_random_points_leaves_the_table_consistent_and_a_rerun_finishes(
    engine: str, method: str, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    cluster = _cluster(engine, mariadb, postgres)
    table = TABLES[method]
    rng = random.Random(f"{engine}-{method}")
    cancelled = 0
    for _trial in range(10):
        load_cluster(cluster, rows=4_000, seed=5, tables=(table,))
        seeded = _rows(cluster, table)
        estimate = datetime.now(UTC) - timedelta(days=RETENTION_DAYS)
        spec = _spec(cluster, method, batch_size=100, batch_delay_s=0.01)
        job = CleanupJob(spec, cluster.nodes[0])
        job.start()
        share = rng.uniform(0.0, 0.9)  # cancel once this share of the work is done

        def reached(job: CleanupJob = job, share: float = share) -> bool:
            snap = job.snapshot()
            return not snap.running or (snap.total is not None and snap.done >= share * snap.total)

        wait_for(reached, timeout=30, step=0.005)
        job.cancel()
        job.join(30)
        state = job.snapshot().state
        assert state in ("cancelled", "finished"), job.snapshot().error
        cancelled += state == "cancelled"
        _consistent(cluster, method, seeded, estimate)
        if method == "copy" and state == "cancelled":
            assert _rows(cluster, table) == seeded  # before the swap: untouched
        rerun = _run_job(spec, cluster)
        assert rerun.result is not None
        after = _rows(cluster, table)
        cutoff = datetime.fromisoformat(rerun.result["cutoff"])
        if method == "partition_drop":
            assert min(after.values()) > cutoff - timedelta(days=1)
        else:
            assert min(after.values()) >= cutoff
        assert {i for i, ts in seeded.items() if ts >= cutoff} <= set(after)
    assert cancelled >= 3, "too few trials were cancelled mid-run to mean anything"


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_max_lag_pauses_while_a_replica_lags_and_resumes_when_it_catches_up(
    engine: str, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    cluster = _cluster(engine, mariadb, postgres)
    load_cluster(cluster, rows=20_000, seed=6, tables=("cleanup_batch",))
    max_lag = 1.0
    spec = _spec(cluster, "batch_delete", batch_size=500, batch_delay_s=0.05, max_lag_s=max_lag)
    job = CleanupJob(spec, cluster.nodes[0])
    set_replica_apply(cluster, False)
    try:
        job.start()

        def held_on_the_lag() -> bool:  # not a first, short hold on a lag not read yet
            last = (job.snapshot().log or ("",))[-1]
            return "paused: lag_s" in last and ": ?" not in last

        assert wait_for(held_on_the_lag, 20), job.snapshot().log[-5:]
        time.sleep(2)
        assert job.snapshot().running and job.snapshot().done < 10_000  # it waits
    finally:
        set_replica_apply(cluster, True)
    job.join(120)
    snap = job.snapshot()
    assert snap.state == "finished", snap.error
    record = job.result
    assert record is not None and record["pauses"] >= 1 and record["paused_s"] >= 2
    assert any("resumed after" in line for line in snap.log)
    assert snap.series_named("pauses")[-1][1] == record["pauses"]  # what the Jobs screen shows
    # A chunk starts only on a reading under max-lag at most a second old; by its end the lag
    # can have grown by that second, the gauge's interval and the chunk itself.
    for chunk in record["chunk_rows"]:
        if chunk["lag_s"] is not None:
            assert chunk["lag_s"] <= max_lag + 1.0 + 0.5 + chunk["seconds"] + 0.5, chunk


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_a_finished_run_counts_the_lag_of_its_last_chunk_until_the_replica_applied_it(
    engine: str, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    """The last chunk lags the replicas after the run has ended: the run reads lag until they
    have applied it, so its max lag is the lag it caused. Here the replica's apply is stopped
    for the last 2 s: the run ends only once the replica holds what the primary holds."""
    cluster = _cluster(engine, mariadb, postgres)
    load_cluster(cluster, rows=20_000, seed=9, tables=("cleanup_batch",))
    job = CleanupJob(_spec(cluster, "batch_delete", batch_size=100_000, batch_delay_s=0.0),
                     cluster.nodes[0])
    set_replica_apply(cluster, False)
    held_s = 2.0
    try:
        job.start()
        assert wait_for(lambda: (snap := job.snapshot()).total and snap.done >= snap.total, 60)
        time.sleep(held_s)
        assert job.snapshot().running, job.snapshot().log[-3:]  # still following the replica
    finally:
        set_replica_apply(cluster, True)
    job.join(60)
    snap = job.snapshot()
    assert snap.state == "finished", snap.error
    record = job.result
    assert record is not None and record["rows_deleted"] > 0
    replica_rows = _count(cluster.nodes[1], f"{SCHEMA}.cleanup_batch")
    assert replica_rows == record["rows_after"], (replica_rows, record["rows_after"])
    assert record["replicas_caught_up_s"] is not None
    assert record["replicas_caught_up_s"] >= held_s - 0.5, record["replicas_caught_up_s"]
    assert record["max_lag_s"] is not None and record["max_lag_s"] >= held_s - 0.5, record
    # Jobs charts the same lag: its series reaches the record's max (to a reading or so, 0.25 s
    # of growth, that the chart may not have been told of).
    assert max(lag for _at, lag in snap.series_named("lag_s")) == pytest.approx(
        record["max_lag_s"], abs=0.3)


def _count(node: NodeSpec, table: str) -> int:
    with sql(node) as run:
        return int(run(f"SELECT count(*) FROM {table}")[0][0])


WRITE_COMMANDS = ("insert", "update", "delete", "replace", "truncate", "analyze", "optimize",
                  "create_table", "create_trigger", "drop_table", "drop_trigger",
                  "alter_table", "rename_table", "lock_tables")


def _write_statements(node: NodeSpec) -> dict[str, int] | None:
    """MySQL's count of every statement that writes or changes a table, server-wide (each
    test runs alone on the lab); None on PostgreSQL, whose dry runs the checksum covers."""
    if node.family != "mysql":
        return None
    with sql(node) as run:
        rows = run("SHOW GLOBAL STATUS LIKE 'Com\\_%'")
    return {str(k): int(v) for k, v in rows if str(k)[4:].lower() in WRITE_COMMANDS}


@pytest.mark.parametrize("method", ["batch_delete", "copy", "partition_drop", "truncate"])
@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_a_dry_run_prints_the_sql_and_changes_nothing(
    engine: str, method: str, lab: Lab, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    cluster = _cluster(engine, mariadb, postgres)
    table = TABLES[method]
    load_cluster(cluster, rows=5_000, seed=8, tables=(table,))
    node = cluster.nodes[0]
    anchor = read_seed_info(node)[table].anchor
    before = table_checksum(node, table, anchor)
    writes_before = _write_statements(node)
    done = run_cli("--config", str(lab.config_path), "cleanup", "--cluster", cluster.name,
                   "--table", f"{SCHEMA}.{table}", "--method", method, "--dry-run")
    assert done.returncode == 0, done.stderr
    # Nothing but reads: not a write, not a DDL, not even an ANALYZE (it rewrites statistics).
    assert _write_statements(node) == writes_before
    assert table_checksum(node, table, anchor) == before
    verbs = {"batch_delete": "DELETE FROM", "copy": "RENAME", "partition_drop": "PARTITION",
             "truncate": "TRUNCATE TABLE"}
    assert verbs[method] in done.stdout
    assert "nothing was changed" in done.stdout


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--method", "vacuum"], "argument --method: invalid choice"),
        (["--method", "batch_delete", "--retention-days", "-1"], "--retention-days"),
        (["--method", "batch_delete", "--max-load", "load=high"], "--max-load: must be Threads_running=N or active=N (got 'load=high')"),
        (["--method", "batch_delete", "--table", "x; drop"], "--table: must be TABLE or SCHEMA.TABLE"),
        (["--method", "partition_drop", "--table", "cleanup_bench.cleanup_batch"],
         "is not partitioned"),
        (["--method", "batch_delete", "--table", "cleanup_bench.cleanup_batch",
          "--ts-column", "payload"], "--ts-column: is not a date/time column"),
        (["--method", "batch_delete", "--table", "cleanup_bench.seed_info"],
         "--table: primary key table_name is varchar, not an integer"),
        (["--method", "batch_delete", "--table", "cleanup_bench.nope"], "no such table"),
        (["--method", "batch_delete", "--table", "cleanup_bench.cleanup_batch"],
         "--yes: no terminal to confirm on"),
        # An unset shell variable ($TABLE) must never clean the cluster's first watched table.
        (["--method", "batch_delete", "--table", "", "--yes"], "--table: is empty"),
        (["--method", "batch_delete", "--batch-delay", "nan"], "--batch-delay: must be a finite"),
        (["--method", "batch_delete", "--batch-delay", "inf"], "--batch-delay: must be a finite"),
        (["--method", "batch_delete", "--max-lag", "inf"], "--max-lag: must be a finite"),
        (["--method", "copy", "--lock-wait", "1e400"], "--lock-wait: must be a finite"),
        (["--method", "batch_delete", "--retention-days", "1e9"], "--retention-days: must be at most"),
        (["--method", "partition_drop", "--target-lag", "0.3"],
         "--target-lag: paces chunked methods only"),
        (["--method", "truncate", "--chunk-time", "0.5"], "--chunk-time: paces chunked methods only"),
        (["--method", "batch_delete", "--target-lag", "1", "--max-lag", "0.5"],
         "--max-lag: is below --target-lag"),
        (["--method", "batch_delete", "--target-lag", "-1"], "--target-lag: must be"),
    ],
)
def test_bad_cleanup_input_is_one_line_exit_2(lab: Lab, mariadb: ClusterConfig,
                                              args: list[str], fragment: str) -> None:
    load_cluster(mariadb, rows=1_000, seed=1, tables=("cleanup_batch",))
    done = run_cli("--config", str(lab.config_path), "cleanup", "--cluster", "lab-mariadb", *args)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], done.stderr


def test_cleanups_need_actions_on_and_a_dry_run_does_not(lab: Lab, tmp_path) -> None:  # type: ignore[no-untyped-def]
    off = tmp_path / "off.toml"
    off.write_text(lab.config_path.read_text().replace("actions = true", "actions = false"))
    base = ["--config", str(off), "cleanup", "--cluster", "lab-postgres", "--table",
            "cleanup_bench.cleanup_batch", "--method", "batch_delete"]
    denied = run_cli(*base, "--yes")
    assert denied.returncode == 2 and "--allow-actions" in denied.stderr
    assert run_cli(*base, "--dry-run").returncode == 0


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_compare_runs_every_method_on_identical_data_under_a_workload(
    engine: str, lab: Lab, mariadb: ClusterConfig, postgres: ClusterConfig, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import json

    cluster = _cluster(engine, mariadb, postgres)
    done = run_cli("--config", str(lab.config_path), "compare", "--cluster", cluster.name,
                   "--rows", "5000", "--with-workload", "traffic", "--tps", "40",
                   "--format", "json", "--yes", "--batch-delay", "0.01",
                   env={"CLUSTERTOP_RESULTS_DIR": str(tmp_path)}, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = {r["method"]: r for r in json.loads(done.stdout)}
    assert list(rows) == ["partition_drop", "truncate", "copy", "batch_delete"]
    assert "identical data in every table" in done.stderr
    for method, row in rows.items():
        assert row["workload_p99_ms"] is not None and row["workload_p99_ms"] > 0, row
        assert not row["workload_errors"], row  # no method fails the application's statements
        if method == "truncate":
            assert row["rows_deleted"] >= 5000
            continue
        assert row["rows_lost"] == 0, row
        if method != "partition_drop":
            # The workload updates random rows, `ts` among the columns: an old row it stamps
            # with now before the cleanup reaches it is newer by then, and stays.
            updates = row["workload_operations"].get("update", 0)
            assert row["rows_older_at_start"] - updates <= row["rows_deleted"], row
            assert row["rows_deleted"] <= row["rows_older_at_start"], row
    # The same seed, the same cutoff a moment apart: the selective methods agree within the
    # rows that crossed the cutoff between their starts.
    assert abs(rows["copy"]["rows_deleted"] - rows["batch_delete"]["rows_deleted"]) <= 5
    table = run_cli("--config", str(lab.config_path), "compare", "--cluster", cluster.name,
                    "--rows", "1000", "--methods", "batch_delete,copy", "--format", "md",
                    "--yes", env={"CLUSTERTOP_RESULTS_DIR": str(tmp_path)}, timeout=120)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.strip().splitlines()
    assert lines[0].startswith("| method | duration s | rows deleted") and len(lines) == 4


def _partitions(cluster: ClusterConfig) -> list[tuple[str, datetime | None]]:
    from clustertop.actions.cleanup.tables import open_table

    table = open_table(cluster.nodes[0], f"{SCHEMA}.cleanup_partitioned")
    try:
        return [(p.name, p.upper) for p in table.partitions()]
    finally:
        table.close()


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_partition_maintenance_adds_days_ahead_and_drops_past_the_retention(
    engine: str, lab: Lab, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    cluster = _cluster(engine, mariadb, postgres)
    load_cluster(cluster, rows=10_000, seed=9, tables=("cleanup_partitioned",))
    base = ["--config", str(lab.config_path), "partitions", "--cluster", cluster.name,
            "--future-days", "6", "--retention-days", "15"]
    before = _partitions(cluster)
    dry = run_cli(*base, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "PARTITION" in dry.stdout and _partitions(cluster) == before
    with sql(cluster.nodes[0]) as run:
        total_before = int(run(f"SELECT COUNT(*) FROM {SCHEMA}.cleanup_partitioned")[0][0])
    done = run_cli(*base, "--yes")
    assert done.returncode == 0, done.stderr
    after = _partitions(cluster)
    now = datetime.now(UTC)
    uppers = [u for _n, u in after if u is not None]
    assert max(uppers) >= datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=7)
    assert min(uppers) > now - timedelta(days=15)  # nothing wholly past the retention is left
    assert any(u is None for _n, u in after)  # the catch-all is still there, above the days
    with sql(cluster.nodes[0]) as run:
        total_after = int(run(f"SELECT COUNT(*) FROM {SCHEMA}.cleanup_partitioned")[0][0])
        oldest = _utc(run(f"SELECT MIN(ts) FROM {SCHEMA}.cleanup_partitioned")[0][0])
    assert oldest > now - timedelta(days=16)
    assert 0 < total_after < total_before
    again = run_cli(*base, "--dry-run")  # done: a second pass has nothing to do
    assert again.returncode == 0 and again.stdout.strip() == "", again.stdout


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_optimize_reclaims_what_a_batch_delete_left(
    engine: str, lab: Lab, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    cluster = _cluster(engine, mariadb, postgres)
    load_cluster(cluster, rows=60_000, seed=10, tables=("cleanup_batch",))
    job = _run_job(_spec(cluster, "batch_delete", batch_size=5000, batch_delay_s=0), cluster)
    assert job.result is not None
    fragmented = job.result["fragmentation_after"]
    assert fragmented is not None and fragmented > job.result["fragmentation_before"]
    mode = "optimize" if engine == "mariadb" else "full"
    done = run_cli("--config", str(lab.config_path), "optimize", "--cluster", cluster.name,
                   "--table", f"{SCHEMA}.cleanup_batch", "--mode", mode, "--yes")
    assert done.returncode == 0, done.stderr
    assert "fragmentation" in done.stdout
    from clustertop.actions.cleanup.tables import open_table

    table = open_table(cluster.nodes[0], f"{SCHEMA}.cleanup_batch")
    try:
        after = table.fragmentation()
    finally:
        table.close()
    assert after is not None and after < fragmented / 2, (fragmented, after)


@pytest.mark.parametrize("method", ["batch_delete", "copy"])
@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_exactly_the_rows_older_at_the_start_are_taken_and_the_rest_accounted_for(
    engine: str, method: str, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    """During the run the application inserts a row with an old timestamp under a free key
    below the high-water mark, moves a kept row into the past, deletes an old row and makes
    another old row new. The first two are rows written during the run: never taken. The
    record accounts for the other two: rows_deleted + by others + made newer == older."""
    cluster = _cluster(engine, mariadb, postgres)
    table = TABLES[method]
    load_cluster(cluster, rows=4_000, seed=12, tables=(table,))
    seeded = _rows(cluster, table)
    estimate = datetime.now(UTC) - timedelta(days=RETENTION_DAYS)
    old = sorted(i for i, ts in seeded.items() if ts < estimate - timedelta(hours=3))
    new = sorted(i for i, ts in seeded.items() if ts > estimate + timedelta(hours=3))
    free, deleted_by_app, made_newer = old[-1], old[-2], old[-3]  # walked last of the old
    moved_back = new[-1]
    node = cluster.nodes[0]
    mysql = node.family == "mysql"
    long_ago = (datetime.now(UTC) - timedelta(days=15)).replace(microsecond=0)
    stamp = long_ago.replace(tzinfo=None) if mysql else long_ago
    now = datetime.now(UTC).replace(tzinfo=None) if mysql else datetime.now(UTC)
    qualified = f"{SCHEMA}.{table}"
    with sql(node) as run:
        run(f"DELETE FROM {qualified} WHERE id = %s", (free,))  # a free key below the mark
    spec = _spec(cluster, method, batch_size=200, batch_delay_s=0.1)
    job = CleanupJob(spec, node)
    job.preflight()
    job.start()
    assert wait_for(lambda: job.snapshot().done > 0, timeout=30)
    with sql(node) as run:
        run(f"INSERT INTO {qualified} (id, ts, user_id, status, amount, payload)"
            " VALUES (%s, %s, 9, 'late', 9.00, 'explicit key, old ts')", (free, stamp))
        run(f"UPDATE {qualified} SET ts = %s WHERE id = %s", (stamp, moved_back))
        run(f"DELETE FROM {qualified} WHERE id = %s", (deleted_by_app,))
        run(f"UPDATE {qualified} SET ts = %s WHERE id = %s", (now, made_newer))
    job.join(60)
    snap = job.snapshot()
    assert snap.state == "finished", snap.error
    assert any("other sessions deleted 1 and made newer 1" in line for line in snap.log)
    record = job.result
    assert record is not None
    after = _rows(cluster, table)
    assert free in after and moved_back in after, "a row written during the run was taken"
    assert made_newer in after and deleted_by_app not in after
    assert record["rows_deleted_outside_start_set"] == 0
    assert record["rows_deleted_by_others"] == 1 and record["rows_made_newer_by_others"] == 1
    assert (record["rows_deleted"] + record["rows_deleted_by_others"]
            + record["rows_made_newer_by_others"]) == record["rows_older_at_start"]
    cutoff = datetime.fromisoformat(record["cutoff"])
    doomed = {i for i, ts in seeded.items() if ts < cutoff and i != free}
    assert record["rows_older_at_start"] == len(doomed)
    assert not (doomed - {made_newer}) & set(after), "a row older at the start stayed"
    assert {i for i, ts in seeded.items() if ts >= cutoff} <= set(after)


def test_partition_drop_on_postgres_does_not_queue_the_application_behind_it(
    postgres: ClusterConfig,
) -> None:
    """A long transaction reads the table while partition_drop runs: the detach waits for it
    (DETACH ... CONCURRENTLY), but the application's reads and writes of the table go on
    meanwhile, where a plain DETACH's ACCESS EXCLUSIVE request queued them all behind it."""
    table = f"{SCHEMA}.cleanup_partitioned"
    load_cluster(postgres, rows=4_000, seed=7, tables=("cleanup_partitioned",))
    node = postgres.nodes[0]
    holder = connect_postgres(node, connect_timeout=5, autocommit=False)
    app = connect_postgres(node, connect_timeout=5, statement_timeout=2.0)
    try:
        holder.execute(f"SELECT count(*) FROM {table}").fetchall()  # its snapshot stays open
        spec = _spec(postgres, "partition_drop")
        job = CleanupJob(spec, node)
        job.preflight()
        job.start()
        assert wait_for(lambda: any("DETACH" in q for q in _active_queries(node)), 20, 0.1)
        time.sleep(0.5)
        # The application within its 2 s statement timeout, while the detach waits.
        app.execute(f"SELECT count(*) FROM {table} WHERE ts > now() - interval '1 day'")
        app.execute(f"INSERT INTO {table} (ts, user_id, status, amount, payload)"
                    " VALUES (now(), 1, 'new', 1.00, 'app')")
        assert job.snapshot().running  # still waiting for the long transaction
        holder.rollback()
        job.join(60)
        snap = job.snapshot()
        assert snap.state == "finished", (snap.error, snap.log[-5:])
        assert job.result is not None and job.result["rows_deleted"] > 0
        cutoff = datetime.fromisoformat(job.result["cutoff"])
        assert min(_rows(postgres, "cleanup_partitioned").values()) > cutoff - timedelta(days=1)
    finally:
        holder.close()
        app.close()


def _active_queries(node: Any) -> list[str]:
    with sql(node) as run:
        return [str(q) for (q,) in run(
            "SELECT query FROM pg_stat_activity WHERE state = 'active'"
            " AND pid <> pg_backend_pid()")]


def test_a_detach_left_by_a_stopped_run_is_dropped_by_the_next_run(
    postgres: ClusterConfig,
) -> None:
    """Stopped between DETACH ... CONCURRENTLY and DROP: the detached table says so (a comment)
    and the next partition_drop drops it, counting its rows apart."""
    from clustertop.actions.sql import postgres as pg_sql

    table = f"{SCHEMA}.cleanup_partitioned"
    load_cluster(postgres, rows=4_000, seed=8, tables=("cleanup_partitioned",))
    node = postgres.nodes[0]
    with sql(node) as run:
        partitions = [r[0] for r in run(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)"
            " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            f" WHERE i.inhparent = '{table}'::regclass ORDER BY c.relname")]
        # The oldest partition holding rows (the first day's may be empty, by the clock).
        counted = [(name, int(run(f"SELECT count(*) FROM {name}")[0][0])) for name in partitions]
        oldest, rows = next((name, n) for name, n in counted if n > 0)
        mark = pg_sql.DETACH_MARK.format(parent=f'"{SCHEMA}"."cleanup_partitioned"')
        run(f"COMMENT ON TABLE {oldest} IS '{mark}'")
        run(f"ALTER TABLE {table} DETACH PARTITION {oldest} CONCURRENTLY")  # then "killed"
    assert rows > 0
    job = _run_job(_spec(postgres, "partition_drop"), postgres)
    assert job.result is not None
    assert job.result["rows_dropped_for_an_earlier_run"] == rows
    with sql(node) as run:
        assert run("SELECT to_regclass(%s)", (oldest,)) == [(None,)]


def test_a_default_partition_gets_a_clear_refusal_unless_blocking_is_allowed(
    lab: Lab, postgres: ClusterConfig
) -> None:
    table = f"{SCHEMA}.cleanup_dp"
    with sql(postgres.nodes[0]) as run:
        run(f"DROP TABLE IF EXISTS {table}")
        run(f"CREATE TABLE {table} (id bigint NOT NULL, ts timestamptz NOT NULL,"
            " user_id int NOT NULL, status varchar(16) NOT NULL, amount numeric(10,2) NOT NULL,"
            " payload varchar(255) NOT NULL, PRIMARY KEY (id, ts)) PARTITION BY RANGE (ts)")
        run(f"CREATE TABLE {table}_old PARTITION OF {table}"
            " FOR VALUES FROM ('2000-01-01') TO ('2001-01-01')")
        run(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        run(f"INSERT INTO {table} SELECT g, timestamptz '2000-06-01' + g * interval '1 min',"
            " 1, 'old', 1.00, 'x' FROM generate_series(1, 50) g")
        run(f"INSERT INTO {table} SELECT 100 + g, now(), 1, 'new', 1.00, 'x'"
            " FROM generate_series(1, 5) g")
    base = ("--config", str(lab.config_path), "cleanup", "--cluster", postgres.name, "--table",
            table, "--method", "partition_drop", "--retention-days", "10", "--yes", "--json")
    try:
        refused = run_cli(*base)
        assert refused.returncode == 2, refused.stderr
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and "DEFAULT partition" in lines[0], lines
        assert "--allow-blocking-detach" in lines[0]
        done = run_cli(*base, "--allow-blocking-detach")
        assert done.returncode == 0, done.stderr
        import json

        assert json.loads(done.stdout)["rows_deleted"] == 50
    finally:
        with sql(postgres.nodes[0]) as run:
            run(f"DROP TABLE IF EXISTS {table}")


def test_target_lag_holds_the_replicas_p95_lag_and_the_rate_rises_once_the_replica_speeds_up(
    mariadb: ClusterConfig,
) -> None:
    """A 500k-row batch_delete paced to a 0.5 s lag while the replica applies slowly (a trigger
    on its copy of the table sleeps every 1000th row): the replica's lag, read independently
    from its heartbeat row, stays at or under the target at p95; once the trigger is dropped
    the controller finds the faster replica and the rate rises."""
    cluster, target = mariadb, 0.5
    primary, replica = cluster.nodes[0], cluster.nodes[1]
    load_cluster(cluster, rows=1_000_000, seed=3, tables=("cleanup_batch",))
    with sql(primary) as run:
        server_id = int(run("SELECT @@server_id")[0][0])
    with sql(replica) as run:
        # Row events fire a replica's own triggers only with this on (MariaDB).
        run("SET GLOBAL slave_run_triggers_for_rbr = YES")
        run("SET SESSION sql_log_bin = 0")
        run(
            f"CREATE TRIGGER {SCHEMA}.slow_apply BEFORE DELETE ON {SCHEMA}.cleanup_batch"
            " FOR EACH ROW BEGIN IF OLD.id % 1000 = 0 THEN DO SLEEP(0.03); END IF; END"
        )
    spec = _spec(cluster, "batch_delete", batch_size=5000, batch_delay_s=0.0,
                 target_lag_s=target)
    job = CleanupJob(spec, primary)
    ages: list[float] = []
    progress: list[tuple[float, float]] = []
    dropped_at: float | None = None
    shown: list[str] = []
    try:
        job.start()
        with sql(replica) as run:
            while job.snapshot().running:
                snap = job.snapshot()
                now = time.monotonic()
                progress.append((now, snap.done))
                shown.append(snap.current or "")
                if snap.done > 0:  # the run's heartbeat writer is on: its row's age is the lag
                    rows = run(
                        "SELECT TIMESTAMPDIFF(MICROSECOND, ts, UTC_TIMESTAMP(6)) / 1e6"
                        " FROM clustertop.heartbeat WHERE server_id = %s", (server_id,)
                    )
                    ages.append(float(rows[0][0]))
                if dropped_at is None and snap.total and snap.done >= 0.4 * snap.total:
                    run("SET SESSION sql_log_bin = 0")
                    run(f"DROP TRIGGER {SCHEMA}.slow_apply")
                    dropped_at = now
                time.sleep(0.1)
    finally:
        job.cancel()
        job.join(60)
        with sql(replica) as run:
            run("SET SESSION sql_log_bin = 0")
            run(f"DROP TRIGGER IF EXISTS {SCHEMA}.slow_apply")
            run("SET GLOBAL slave_run_triggers_for_rbr = NO")
    snap = job.snapshot()
    assert snap.state == "finished", snap.error
    record = job.result
    assert record is not None and record["rows_deleted"] > 490_000
    assert dropped_at is not None
    # The heartbeat's age is the lag plus up to one write interval (50 ms).
    ages.sort()
    independent_p95 = ages[int(0.95 * (len(ages) - 1))] - 0.05
    assert independent_p95 <= target, (independent_p95, record["pace"])
    assert record["p95_lag_s"] is not None and record["p95_lag_s"] <= target, record
    assert record["max_lag_s"] is not None and record["max_lag_s"] < target * 3, record

    def rate(start: float, end: float) -> float:
        inside = [(t, d) for t, d in progress if start <= t <= end]
        return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])

    first_chunk = next(t for t, d in progress if d > 0)
    slowed = rate(first_chunk + 1.0, dropped_at)
    freed = rate(dropped_at + 1.5, max(t for t, d in progress if d < record["rows_deleted"]))
    assert freed > 1.4 * slowed, (slowed, freed, record["pace"])
    # What the Jobs screen shows of the controller while it runs.
    assert any("replica applies" in line and f"target {target:g} s" in line for line in shown)


def test_with_gate_a_cleanup_pauses_while_the_gate_is_no_go_and_finishes_once_it_is_go(
    mariadb: ClusterConfig,
) -> None:
    """--gate: the cluster's own gate rules hold the run at its chunk boundaries (one rule
    engine for the gate, guard and the cleanups)."""
    from dataclasses import replace

    from clustertop.core.gate import parse_rule

    cluster = replace(mariadb, gate_rules=(parse_rule("lag_s < 1", "test"),), abort_rules=())
    load_cluster(cluster, rows=20_000, seed=6, tables=("cleanup_batch",))
    job = CleanupJob(_spec(cluster, "batch_delete", batch_size=500, batch_delay_s=0.05,
                           gate=True), cluster.nodes[0])
    set_replica_apply(cluster, False)
    try:
        job.start()
        # Held on the lag itself (a first, short hold can be on the lag not read yet).
        def held_on_the_lag() -> bool:
            last = (job.snapshot().log or ("",))[-1]
            return "paused: lag_s < 1:" in last and "(replica1)" in last

        assert wait_for(held_on_the_lag, 20), job.snapshot().log[-5:]
        held = job.snapshot().done
        time.sleep(1.5)
        assert job.snapshot().running and job.snapshot().done == held, job.snapshot().log[-8:]
    finally:
        set_replica_apply(cluster, True)
    job.join(120)
    snap = job.snapshot()
    assert snap.state == "finished", snap.error
    assert any("rules: runs while lag_s < 1" in line and "else pauses" in line for line in snap.log)
    assert job.result is not None and job.result["rows_deleted"] > 0


def test_critical_load_aborts_a_cleanup_through_its_abort_rule(mariadb: ClusterConfig) -> None:
    """--critical-load Threads_running=1: the primary always runs at least the poll's own
    statement, so the run stops before its first chunk, saying which rule and the value."""
    from clustertop.actions.cleanup.throttle import LoadLimit

    load_cluster(mariadb, rows=2_000, seed=6, tables=("cleanup_batch",))
    job = CleanupJob(_spec(mariadb, "batch_delete", critical_load=LoadLimit("Threads_running", 1)),
                     mariadb.nodes[0])
    job.start()
    job.join(60)
    snap = job.snapshot()
    assert snap.state == "failed" and snap.error is not None
    assert "abort rule primary.active < 1:" in snap.error and "(primary)" in snap.error
    assert job.deleted == 0
