"""TimescaleDB against a real TimescaleDB (2.28, the Apache build): a hypertable is one table
with its real rows and bytes, its chunks are its partitions, partition_drop drops whole chunks
with drop_chunks, copy is refused, and a failing background job shows with its error. The lab
builds the node where the extension is installed (it is not a Debian package:
../shared/tools/build-timescaledb builds it) and these tests skip, saying so, where it is not."""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from clustertop.collectors.poller import Poller, PollTarget
from clustertop.collectors.samples import TableSample, skew
from clustertop.core.config import ClusterConfig, Config, load_config
from clustertop.lab.binaries import find_postgres
from clustertop.lab.lab import Lab
from clustertop.tui.alerts import AlertBook
from tests.conftest import run_cli
from tests.helpers import first_detail, sql, wait_for

HYPER = "cleanup_bench.cleanup_hyper"
NO_TIMESCALEDB = (
    "needs TimescaleDB: the lab builds a TimescaleDB node from the timescaledb extension, which "
    "is not installed for this PostgreSQL (not a Debian package: build it with "
    "../shared/tools/build-timescaledb)"
)


def _has_timescaledb() -> bool:
    try:
        return find_postgres().has_extension("timescaledb")
    except Exception:
        return False


@pytest.fixture(scope="module")
def ts_lab() -> Iterator[Lab]:
    if not _has_timescaledb():
        pytest.skip(NO_TIMESCALEDB)
    root = Path(tempfile.mkdtemp(prefix="clustertop-tsdb-", dir="/tmp"))
    root.chmod(0o755)  # as root, the postgres user must reach the data dirs
    lab = Lab(root)
    try:
        lab.up(("timescaledb",), replicas=0)
        yield lab
    finally:
        lab.down()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def ts_config(ts_lab: Lab) -> Config:
    return load_config(ts_lab.config_path)


@pytest.fixture(scope="module")
def cluster(ts_config: Config) -> ClusterConfig:
    return ts_config.clusters["lab-timescaledb"]


def _table(cluster: ClusterConfig, watched: tuple[str, ...] = (HYPER,)) -> list[TableSample]:
    detail = first_detail(PollTarget(cluster.nodes[0], 2.0, 2.0, heartbeat_table=None,
                                     watched_tables=watched, detail_interval=1.0))
    assert detail is not None and detail.error is None, detail
    return list(detail.tables)


def test_a_hypertable_is_one_table_with_its_rows_bytes_and_chunks(cluster: ClusterConfig) -> None:
    (table,) = _table(cluster)
    node = cluster.nodes[0]
    with sql(node) as run:
        exact = int(run(f"SELECT count(*) FROM {HYPER}")[0][0])
        table_bytes, index_bytes, _toast, total = run(
            f"SELECT table_bytes, index_bytes, toast_bytes, total_bytes"
            f" FROM hypertable_detailed_size('{HYPER}')")[0]
        chunks = run("SELECT chunk_name, range_start, range_end FROM"
                     " timescaledb_information.chunks WHERE hypertable_schema = 'cleanup_bench'"
                     " AND hypertable_name = 'cleanup_hyper'")
        per_chunk = {name: int(run(f'SELECT count(*) FROM _timescaledb_internal."{name}"')[0][0])
                     for name, _s, _e in chunks}
    assert table.hypertable and table.error is None
    assert (table.rows, table.rows_exact) == (exact, True) and exact > 0
    # Chunks' main forks and indexes against TimescaleDB's own sums (which also count each
    # chunk's free-space and visibility maps, a few pages a chunk).
    ours = (table.data_bytes or 0) + (table.index_bytes or 0)
    assert ours == pytest.approx(table_bytes + index_bytes, rel=0.1), (ours, total)
    assert {p.name for p in table.partitions} == set(per_chunk) and len(chunks) >= 20
    for partition in table.partitions:
        assert (partition.rows, partition.rows_exact) == (per_chunk[partition.name], True)
        assert partition.bound is not None and partition.bound.startswith("FROM (")
    populated = [n for n in per_chunk.values() if n > 0]
    assert table.partition_skew == pytest.approx(skew(populated))
    assert table.compression == "not in this build (Apache license)"


def test_chunks_are_not_tables_and_the_hypertable_ranks_by_its_chunks(
    cluster: ClusterConfig,
) -> None:
    names = [t.name for t in _table(cluster, watched=())]
    assert HYPER in names, names
    assert not [n for n in names if "_timescaledb" in n or "_hyper_" in n], names


def _cleanup(lab: Lab, *args: str) -> dict:  # type: ignore[type-arg]
    done = run_cli("--config", str(lab.config_path), "cleanup", "--cluster", "lab-timescaledb",
                   "--table", HYPER, "--json", "--yes", *args, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_partition_drop_on_a_hypertable_drops_whole_chunks_under_a_writer(
    ts_lab: Lab, cluster: ClusterConfig
) -> None:
    node = cluster.nodes[0]
    retention = 10

    def state() -> tuple[int, list[tuple[str, int]]]:
        with sql(node) as run:
            total = int(run(f"SELECT count(*) FROM {HYPER}")[0][0])
            doomed = run(
                "SELECT chunk_name FROM timescaledb_information.chunks"
                " WHERE hypertable_name = 'cleanup_hyper'"
                f" AND range_end <= now() - interval '{retention} days'")
            counts = [(n, int(run(f'SELECT count(*) FROM _timescaledb_internal."{n}"')[0][0]))
                      for (n,) in doomed]
        return total, counts

    before, doomed = state()
    assert doomed, "the seed spans 20 days: some chunks lie wholly before the cutoff"
    dry = _cleanup(ts_lab, "--method", "partition_drop", "--retention-days", str(retention),
                   "--dry-run")
    assert dry["dry_run"] and state()[0] == before  # the dry run changed nothing
    stop = threading.Event()
    written = []

    def writer() -> None:  # the application keeps inserting now-rows meanwhile
        with sql(node) as run:
            while not stop.wait(0.05):
                run(f"INSERT INTO {HYPER} (ts, user_id, status, amount, payload)"
                    " VALUES (now(), 1, 'new', 1.00, 'w')")
                written.append(1)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        result = _cleanup(ts_lab, "--method", "partition_drop", "--retention-days",
                          str(retention))
    finally:
        stop.set()
        thread.join(10)
    assert result["rows_deleted"] == sum(n for _name, n in doomed)
    after, still_doomed = state()
    assert still_doomed == []
    assert after == before - result["rows_deleted"] + len(written)
    with sql(node) as run:
        older = int(run(f"SELECT count(*) FROM {HYPER} WHERE ts < %s::timestamptz",
                        (result["cutoff"],))[0][0])
    assert older == result["rows_left_older"]  # the straddling chunk's older rows stay


def test_copy_is_refused_on_a_hypertable_and_maintenance_says_why(ts_lab: Lab) -> None:
    base = ("--config", str(ts_lab.config_path), "cleanup", "--cluster", "lab-timescaledb",
            "--table", HYPER, "--method", "copy", "--retention-days", "5", "--yes")
    done = run_cli(*base)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "hypertable" in lines[0] and "plain table" in lines[0], lines
    done = run_cli("--config", str(ts_lab.config_path), "partitions", "--cluster",
                   "lab-timescaledb", "--table", HYPER, "--dry-run")
    assert done.returncode == 2, done.stderr
    assert "created by TimescaleDB itself" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_failing_background_job_shows_with_its_error_and_warns_unless_silenced(
    cluster: ClusterConfig, ts_config: Config
) -> None:
    """The Apache build's own log retention job fails on every run (a license error): it shows
    with its error; the lab's config silences it, a config without silenced_jobs warns."""
    node = cluster.nodes[0]
    name = "Job History Log Retention Policy [3]"
    poller = Poller([PollTarget(node, 2.0, 2.0, heartbeat_table=None, detail_interval=1.0)])
    try:
        def failing() -> object:
            poller.poll_round()
            poller.wait_for_details(10)
            round_ = poller.poll_round()
            detail = round_.nodes[0].detail
            jobs = detail.timescale.jobs if detail and detail.timescale else ()
            job = next((j for j in jobs if j.name == name and j.failing), None)
            return (round_, job) if job else None

        found = wait_for(failing, timeout=60, step=1.0)
        assert found, "the scheduler runs the job at start and records its failure"
        round_, job = found  # type: ignore[misc]
    finally:
        poller.close()
    with sql(node) as run:
        recorded = run("SELECT err_message FROM timescaledb_information.job_errors"
                       " WHERE job_id = %s ORDER BY finish_time DESC LIMIT 1", (job.job_id,))
    assert recorded and job.last_error == " ".join(recorded[0][0].split())
    assert "license" in job.last_error and job.failures
    assert job.silenced_by(cluster.silenced_jobs)
    silenced = AlertBook(ts_config)
    silenced.update(round_)
    assert not [a for a in silenced.active.values() if "timescaledb jobs" in a.key]
    unsilenced_cluster = replace(cluster, silenced_jobs=())
    loud = AlertBook(replace(ts_config, clusters={cluster.name: unsilenced_cluster}))
    loud.update(round_)
    texts = [a.text for a in loud.active.values() if "timescaledb jobs" in a.key]
    assert texts and f"job {job.job_id}" in texts[0] and "license" in texts[0], texts


def test_compare_runs_partition_drop_on_the_hypertable_beside_the_partitioned_table(
    ts_lab: Lab,
) -> None:
    done = run_cli("--config", str(ts_lab.config_path), "compare", "--cluster",
                   "lab-timescaledb", "--methods", "partition_drop,drop_chunks", "--rows", "5000",
                   "--format", "json", "--yes", timeout=600)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [r["method"] for r in rows] == ["partition_drop", "drop_chunks"], rows
    partitioned, hyper = rows
    # Daily partitions and daily chunks share their boundaries (UTC midnights): the same rows
    # go, the same older rows stay in the straddling part, nothing kept is lost.
    assert hyper["rows_deleted"] == partitioned["rows_deleted"] > 0
    assert hyper["rows_left_older"] == partitioned["rows_left_older"]
    assert hyper["rows_lost"] == 0 and hyper["table"].endswith("cleanup_hyper")
