"""The builtin workload against real servers: rate, the server's own commit count, latency
percentiles with a known injected delay, cancel, and bad input."""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from clustertop.actions.workload.builtin import BuiltinWorkload, WorkloadSpec
from clustertop.core.config import ClusterConfig
from clustertop.core.mixes import parse_mix
from clustertop.lab.lab import Lab
from tests.conftest import run_cli
from tests.helpers import sql


def _server_commits(cluster: ClusterConfig) -> int:
    with sql(cluster.nodes[0]) as run:
        if cluster.family == "mysql":
            rows = run("SELECT SUM(count) FROM information_schema.INNODB_METRICS WHERE name IN"
                       " ('trx_rw_commits', 'trx_ro_commits', 'trx_nl_ro_commits', 'trx_rollbacks')")
        else:
            rows = run("SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database")
    return int(rows[0][0])


@contextmanager
def autovacuum_paused(cluster: ClusterConfig) -> Iterator[None]:
    """Autovacuum's own transactions (system catalogs, after the tests' many CREATE and DROP)
    would count too: the lab is a sandbox, so it is paused while commits are compared."""
    if cluster.family == "mysql":
        yield
        return
    with sql(cluster.nodes[0]) as run:
        run("ALTER SYSTEM SET autovacuum = off")
        run("SELECT pg_reload_conf()")
    time.sleep(1)
    try:
        yield
    finally:
        with sql(cluster.nodes[0]) as run:
            run("ALTER SYSTEM RESET autovacuum")
            run("SELECT pg_reload_conf()")


def _counted_run(lab: Lab, cluster: ClusterConfig, extra: list[str], env: dict[str, str],
                 pattern: str = "oltp") -> tuple[int, dict]:  # type: ignore[type-arg]
    """One `workload run --json`, and how many transactions the server counted meanwhile."""
    base = ["--config", str(lab.config_path), "workload", "run", "--cluster", cluster.name,
            "--pattern", pattern, "--connections", "4", "--table", "cleanup_bench.cleanup_batch",
            "--json"]
    time.sleep(1.5)  # PostgreSQL publishes a backend's counts about once a second
    before = _server_commits(cluster)
    done = run_cli(*base, *extra, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    time.sleep(1.5)
    return _server_commits(cluster) - before, json.loads(done.stdout) | {"log": done.stderr}


def _server_counted(lab: Lab, cluster: ClusterConfig, extra: list[str], env: dict[str, str],
                    pattern: str = "oltp") -> tuple[int, dict]:  # type: ignore[type-arg]
    """The server's count for a run, less what any run costs besides its transactions (finding
    the primary, reading the table's shape), measured on a one-transaction run."""
    overhead, one = _counted_run(lab, cluster, ["--transactions", "1"], env, pattern)
    overhead -= one["transactions"]
    delta, result = _counted_run(lab, cluster, extra, env, pattern)
    return delta - overhead, result


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_200_tps_for_10_s_and_the_server_counted_the_same(
    engine: str, lab: Lab, mariadb: ClusterConfig, postgres: ClusterConfig, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    cluster = mariadb if engine == "mariadb" else postgres
    run_cli("--config", str(lab.config_path), "load", "--cluster", cluster.name, "--rows", "5000")
    env = {"CLUSTERTOP_RESULTS_DIR": str(tmp_path)}
    with autovacuum_paused(cluster):
        server, result = _server_counted(lab, cluster, ["--tps", "200", "--duration", "10"], env)
    assert 190 <= result["achieved_tps"] <= 210, result
    assert abs(server - result["transactions"]) <= 0.02 * result["transactions"], (server, result)
    lat = result["latency_ms"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]
    assert list(tmp_path.glob("workload-*.json"))  # the run's record was saved
    assert "second 5:" in result["log"]  # a live line a second


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_worker_processes_run_exactly_the_transactions_asked_and_the_server_agrees(
    engine: str, lab: Lab, mariadb: ClusterConfig, postgres: ClusterConfig, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    cluster = mariadb if engine == "mariadb" else postgres
    run_cli("--config", str(lab.config_path), "load", "--cluster", cluster.name, "--rows", "5000")
    env = {"CLUSTERTOP_RESULTS_DIR": str(tmp_path)}
    with autovacuum_paused(cluster):
        server, result = _server_counted(
            lab, cluster, ["--processes", "2", "--transactions", "3001"], env
        )
    assert result["processes"] == 2
    assert result["transactions"] == 3001 == sum(result["operations"].values()), result
    assert result["errors"] == 0, result
    assert abs(server - 3001) <= 0.02 * 3001, (server, result)


def test_a_target_rate_holds_within_5_percent_over_60_s(
    mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    """Both engines at once, MariaDB from threads and PostgreSQL from two worker processes, so
    the open-loop schedule is checked across processes too."""
    jobs = []
    for cluster, processes in ((mariadb, 1), (postgres, 2)):
        spec = WorkloadSpec(node=cluster.nodes[0], table="cleanup_bench.cleanup_batch",
                            pattern="oltp", mix=parse_mix("S60,I15,U20,D5"), connections=4,
                            target_tps=400, duration_s=60, processes=processes)
        jobs.append(BuiltinWorkload(spec, cluster.name))
    for job in jobs:
        job.start()
    for job in jobs:
        job.join(90)
        assert job.snapshot().state == "finished", job.snapshot().error
        result = job.result
        assert result is not None and result["processes"] == job.processes
        assert 380 <= result["achieved_tps"] <= 420, result
        assert 59 <= result["duration_s"] <= 62, result
        assert result["errors"] == 0, result
        achieved = job.snapshot().series_named("achieved")
        assert len(achieved) >= 59  # a sample for every second


def test_p99_reflects_an_injected_server_side_delay(postgres: ClusterConfig) -> None:
    """5% of rows sleep 60 ms when updated: p99 must show it, p50 must not."""
    primary = postgres.nodes[0]
    with sql(primary) as run:
        run("DROP TABLE IF EXISTS wl_delay")
        run("CREATE TABLE wl_delay (id int PRIMARY KEY, v int NOT NULL)")
        run("INSERT INTO wl_delay SELECT g, 0 FROM generate_series(1, 1000) g")
        run("CREATE OR REPLACE FUNCTION wl_slow() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN IF NEW.id % 20 = 0 THEN PERFORM pg_sleep(0.06); END IF; RETURN NEW; END $$")
        run("CREATE TRIGGER wl_slow BEFORE UPDATE ON wl_delay FOR EACH ROW EXECUTE FUNCTION wl_slow()")
    spec = WorkloadSpec(node=primary, table="wl_delay", pattern="custom",
                        mix=parse_mix("U100"), connections=4, target_tps=None, duration_s=None,
                        transactions=2000)
    job = BuiltinWorkload(spec, postgres.name)
    job.start()
    job.join(60)
    assert job.snapshot().state == "finished", job.snapshot().error
    result = job.result
    assert result is not None and result["transactions"] == 2000
    assert result["latency_ms"]["p99"] >= 55.0
    assert result["latency_ms"]["p50"] < 20.0
    # About 5% of the updates hit a slow row: p95 sits at the edge, p90 below it.
    assert job.tally.overall.percentile(90) is not None and job.tally.overall.percentile(90) < 20_000


@pytest.mark.parametrize("processes", [1, 2])
def test_cancel_ends_within_2_s_and_leaves_no_connection(
    processes: int, lab: Lab, postgres: ClusterConfig
) -> None:
    primary = postgres.nodes[0]
    run_cli("--config", str(lab.config_path), "load", "--cluster", "lab-postgres", "--rows", "100")

    def ours() -> int:
        with sql(primary) as run:
            rows = run("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'clustertop'"
                       " AND pid <> pg_backend_pid()")
        return int(rows[0][0])

    baseline = ours()
    spec = WorkloadSpec(node=primary, table="cleanup_bench.cleanup_batch", pattern="oltp",
                        mix=parse_mix("S60,I20,U20"), connections=4, target_tps=None,
                        duration_s=60, processes=processes)
    job = BuiltinWorkload(spec, postgres.name)
    job.start()
    time.sleep(3)
    assert job.snapshot().running and ours() >= baseline + 4
    asked = time.monotonic()
    job.cancel()
    job.join(5)
    assert time.monotonic() - asked <= 2.0
    assert job.snapshot().state == "cancelled"
    assert job.summary  # what ran so far is still reported
    deadline = time.monotonic() + 3
    while ours() > baseline and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ours() == baseline
    assert not multiprocessing.active_children()  # no worker process is left either


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--pattern", "bogus"], "--pattern: unknown pattern"),
        (["--tps", "-5"], "argument --tps: must be more than 0"),
        (["--mix", "7:2"], "--mix: a mix is I:S:U"),
        (["--table", "labcheck_nokey"], "--table: has no primary key"),
        (["--table", "cleanup_bench.nope"], "--table: no such table"),
        (["--table", "x; drop"], "--table: must be TABLE or SCHEMA.TABLE"),
    ],
)
def test_bad_input_is_one_line_exit_2(lab: Lab, postgres: ClusterConfig, args: list[str],
                                      fragment: str) -> None:
    with sql(postgres.nodes[0]) as run:
        run("CREATE TABLE IF NOT EXISTS labcheck_nokey (v int)")
    done = run_cli("--config", str(lab.config_path), "workload", "run", "--cluster",
                   "lab-postgres", "--duration", "1", *args)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], done.stderr


def test_writing_patterns_need_actions_read_only_ones_do_not(lab: Lab, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run_cli("--config", str(lab.config_path), "load", "--cluster", "lab-postgres", "--rows", "100")
    off = tmp_path / "off.toml"
    off.write_text(lab.config_path.read_text().replace("actions = true", "actions = false"))
    denied = run_cli("--config", str(off), "workload", "run", "--cluster", "lab-postgres",
                     "--pattern", "oltp", "--duration", "1")
    assert denied.returncode == 2 and "--allow-actions" in denied.stderr
    allowed = run_cli("--config", str(off), "workload", "run", "--cluster", "lab-postgres",
                      "--pattern", "point-select", "--duration", "1", "--json",
                      "--table", "cleanup_bench.cleanup_batch",
                      env={"CLUSTERTOP_RESULTS_DIR": str(tmp_path)})
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout)["operations"].keys() == {"select"}


def test_a_mix_named_in_the_config_is_a_pattern(lab: Lab, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run_cli("--config", str(lab.config_path), "load", "--cluster", "lab-mariadb", "--rows", "100")
    config = tmp_path / "mixes.toml"
    config.write_text(lab.config_path.read_text() + '\n[workload.mixes]\nreads-and-appends = "S50,I50"\n')
    done = run_cli("--config", str(config), "workload", "run", "--cluster", "lab-mariadb",
                   "--pattern", "reads-and-appends", "--transactions", "400", "--json",
                   "--table", "cleanup_bench.cleanup_batch",
                   env={"CLUSTERTOP_RESULTS_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    operations = json.loads(done.stdout)["operations"]
    assert operations.keys() == {"select", "insert"}
    assert 150 <= operations["insert"] <= 250, operations  # 50% of 400, give or take chance


def test_connections_that_cannot_open_are_errors_and_nothing_run_is_a_failure(
    lab: Lab, mariadb: ClusterConfig, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """A user allowed 3 connections asks for 5: 2 errors said and counted; with its one
    connection held elsewhere, nothing can run: one line, exit 1, never "internal error"."""
    from clustertop.actions.seed import load_cluster
    from clustertop.collectors.connect import connect_mysql
    from clustertop.core.config import config_from_dsns

    load_cluster(mariadb, rows=1_000, seed=1, tables=("cleanup_batch",))
    primary = mariadb.nodes[0]
    with sql(primary) as run:
        run("DROP USER IF EXISTS 'limited'@'127.0.0.1'")
        run("CREATE USER 'limited'@'127.0.0.1' IDENTIFIED BY 'Lim1ted-pw'"
            " WITH MAX_USER_CONNECTIONS 3")
        run("GRANT SELECT ON cleanup_bench.* TO 'limited'@'127.0.0.1'")
    dsn = f"mysql://limited:Lim1ted-pw@127.0.0.1:{primary.port}/cleanup_bench"
    base = ["workload", "run", "--dsn", dsn, "--pattern", "point-select",
            "--table", "cleanup_bench.cleanup_batch", "--duration", "2", "--processes", "1"]
    env = {"CLUSTERTOP_RESULTS_DIR": str(tmp_path)}
    try:
        # Without SLAVE MONITOR the primary cannot be told from a replica: said in one line.
        denied = run_cli(*base, "--connections", "5", env=env)
        assert denied.returncode == 1, denied.stderr
        assert "needs GRANT SLAVE MONITOR" in denied.stderr and "internal error" not in denied.stderr
        with sql(primary) as run:
            run("GRANT SLAVE MONITOR ON *.* TO 'limited'@'127.0.0.1'")
        some = run_cli(*base, "--connections", "5", "--json", env=env)
        assert some.returncode == 0, some.stderr
        result = json.loads(some.stdout)
        assert result["connections_failed"] == 2 and result["errors"] >= 2
        assert result["transactions"] > 0
        assert "2 of 5 connections could not open" in some.stderr
        (node,) = config_from_dsns([dsn]).clusters[f"127.0.0.1:{primary.port}"].nodes
        held = [connect_mysql(node, connect_timeout=5) for _ in range(3)]
        try:
            none = run_cli(*base, "--connections", "2", env=env)
        finally:
            for conn in held:
                conn.close()
        assert none.returncode == 1, none.stderr
        lines = none.stderr.strip().splitlines()
        assert "internal error" not in none.stderr and "Traceback" not in none.stderr
        assert "max_user_connections" in lines[-1] and "Lim1ted" not in none.stderr
    finally:
        with sql(primary) as run:
            run("DROP USER IF EXISTS 'limited'@'127.0.0.1'")


def test_a_select_only_postgres_user_sees_the_primary_key(
    lab: Lab, postgres: ClusterConfig
) -> None:
    """information_schema hides a table's constraints from a user with only SELECT on it: the
    key must come from the catalog, or a read-only workload is told there is none."""
    from clustertop.actions.seed import load_cluster

    load_cluster(postgres, rows=1_000, seed=1, tables=("cleanup_batch",))
    primary = postgres.nodes[0]
    with sql(primary) as run:
        run("DROP ROLE IF EXISTS reader_only")
        run("CREATE ROLE reader_only LOGIN PASSWORD 'R3ader-pw'")
        run("GRANT USAGE ON SCHEMA cleanup_bench TO reader_only")
        run("GRANT SELECT ON cleanup_bench.cleanup_batch TO reader_only")
    dsn = f"postgresql://reader_only:R3ader-pw@127.0.0.1:{primary.port}/{primary.database}"
    try:
        done = run_cli("workload", "run", "--dsn", dsn, "--pattern", "point-select",
                       "--table", "cleanup_bench.cleanup_batch", "--duration", "1",
                       "--connections", "1", "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["transactions"] > 0
    finally:
        with sql(primary) as run:
            run("REVOKE ALL ON cleanup_bench.cleanup_batch FROM reader_only")
            run("REVOKE USAGE ON SCHEMA cleanup_bench FROM reader_only")
            run("DROP ROLE IF EXISTS reader_only")


@pytest.mark.parametrize(
    ("engine", "processes"), [("mariadb", 1), ("postgres", 1), ("postgres", 2)]
)
def test_the_per_second_figures_add_up_to_the_run_with_a_slow_tail(
    lab_config, engine: str, processes: int  # type: ignore[no-untyped-def]
) -> None:
    """Operations that complete late (a table lock held 0.6 s every second) belong to the
    second they were scheduled in, and a second is reported only once all of them are in: the
    per-second counts add up to the total and their histograms merge into the overall one."""
    import threading

    from clustertop.actions.workload.histogram import Histogram

    cluster = lab_config.clusters[f"lab-{engine}"]
    primary = cluster.nodes[0]
    table = "cleanup_bench.wl_tail"
    with sql(primary) as run:
        run(f"DROP TABLE IF EXISTS {table}")
        run(f"CREATE TABLE {table} (id int PRIMARY KEY, v int NOT NULL)")
        run(f"INSERT INTO {table} (id, v) VALUES " + ", ".join(f"({i}, 0)" for i in range(1, 101)))
    spec = WorkloadSpec(node=primary, table=table, pattern="custom", mix=parse_mix("U100"),
                        connections=4, target_tps=100, duration_s=6, transactions=None,
                        processes=processes)
    job = BuiltinWorkload(spec, cluster.name)
    stop = threading.Event()

    def tail_maker() -> None:
        with sql(primary) as run:
            while not stop.wait(0.4):
                if cluster.family == "mysql":
                    run(f"LOCK TABLES {table} WRITE")
                    time.sleep(0.6)
                    run("UNLOCK TABLES")
                else:
                    run("BEGIN")
                    run(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
                    time.sleep(0.6)
                    run("COMMIT")

    maker = threading.Thread(target=tail_maker, daemon=True)
    maker.start()
    try:
        job.start()
        job.join(60)
    finally:
        stop.set()
        maker.join(10)
        with sql(primary) as run:
            run(f"DROP TABLE IF EXISTS {table}")
    snap = job.snapshot()
    assert snap.state == "finished", snap.error
    result = job.result
    assert result is not None and result["transactions"] > 0
    reported = job.reported_seconds
    assert sum(s.done for s in reported.values()) == result["transactions"]
    assert sum(s.errors for s in reported.values()) == result["errors"]
    merged = Histogram()
    for s in reported.values():
        merged.merge(s.histogram)
    overall = job.tally.overall
    assert (merged.total, merged.counts, merged.max_us) == (
        overall.total, overall.counts, overall.max_us)
    lines = [line.split(" ", 1)[1] for line in snap.log if " second " in f" {line}"]
    seconds = [line for line in lines if line.startswith("second ")]
    assert seconds and seconds[0].startswith("second 1:"), seconds
    # The slow tail shows in the seconds it happened in, not only in the summary.
    worst = max((s.histogram.percentile(99) or 0) for s in reported.values())
    assert worst >= 300_000 and result["latency_ms"]["p99"] >= 300, (worst, result)
