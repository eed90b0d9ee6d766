"""The primary SIGKILLed in the middle of a batch_delete, a copy and a workload: each job ends
in one line that says where it stopped (which chunks committed, what remains, what an
unfinished copy left), nothing is half-done (no half-swapped table, no row newer than the
cutoff lost), and once the server is back a re-run completes and leaves nothing behind."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from clustertop.actions.seed import load_cluster
from clustertop.core.config import ClusterConfig, load_config
from clustertop.lab.lab import Lab
from tests.conftest import CLUSTERTOP, make_lab_dir, run_cli
from tests.helpers import sql, wait_for

TABLE = "cleanup_bench.cleanup_batch"
CLUSTERS = {"mariadb": "lab-mariadb", "postgres": "lab-postgres"}


@pytest.fixture(scope="module")
def drill_lab() -> Iterator[Lab]:
    root = make_lab_dir("clustertop-drill-lab-")
    lab = Lab(root)
    try:
        lab.up(("mariadb", "postgres"), replicas=0)
        yield lab
    finally:
        lab.down()
        shutil.rmtree(root, ignore_errors=True)


def _cluster(lab: Lab, engine: str) -> ClusterConfig:
    return load_config(lab.config_path).clusters[CLUSTERS[engine]]


def _rows(cluster: ClusterConfig) -> dict[int, datetime]:
    with sql(cluster.nodes[0]) as run:
        rows = run(f"SELECT id, ts FROM {TABLE}")
    # MariaDB gives naive UTC datetimes, PostgreSQL aware ones: compare them as naive UTC.
    return {
        int(r[0]): r[1].astimezone(UTC).replace(tzinfo=None) if r[1].tzinfo else r[1]
        for r in rows
    }


def _kill_primary(lab: Lab, engine: str) -> None:
    node = next(n for n in lab.nodes() if n.cluster == CLUSTERS[engine])
    pid = lab._running_pid(node)
    assert pid, "the primary is not running"
    os.kill(pid, signal.SIGKILL)


def _start(lab: Lab, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CLUSTERTOP, "--config", str(lab.config_path), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def _ended(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def _final_line(proc: subprocess.Popen[str]) -> str:
    """The line a cleanup that lost its server ends with: after its progress log, one line,
    exit 1, no traceback."""
    code, _out, err = _ended(proc)
    assert code == 1, err
    line = err.strip().splitlines()[-1]
    assert line.startswith("clustertop: ") and "Traceback" not in err, err
    return line


def _leftovers(cluster: ClusterConfig) -> list[str]:
    """Tables and triggers a copy makes beside cleanup_batch."""
    with sql(cluster.nodes[0]) as run:
        if cluster.nodes[0].family == "mysql":
            tables = run(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA ="
                " 'cleanup_bench' AND TABLE_NAME LIKE '\\_cleanup\\_batch\\_%'"
            )
            triggers = run(
                "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA"
                " = 'cleanup_bench' AND EVENT_OBJECT_TABLE = 'cleanup_batch'"
            )
        else:
            tables = run(
                "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE nspname = 'cleanup_bench' AND relname LIKE '\\_cleanup\\_batch\\_%'"
                " AND relkind IN ('r', 'p')"
            )
            triggers = run(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
                " AND tgrelid = 'cleanup_bench.cleanup_batch'::regclass"
            )
    return sorted(str(r[0]) for r in (*tables, *triggers))


def _restart(lab: Lab, engine: str) -> None:
    lab.up((engine,), replicas=0)


def _cleanup_args(engine: str, method: str, *extra: str) -> list[str]:
    return [
        "cleanup", "--cluster", CLUSTERS[engine], "--table", TABLE, "--method", method,
        "--retention-days", "10", "--yes", *extra,
    ]


def _assert_done(cluster: ClusterConfig, before: dict[int, datetime], record: dict[str, Any]) -> None:
    """No row older than the final cutoff is left; every row newer than it is still there."""
    cutoff = datetime.fromisoformat(record["cutoff"])
    cutoff = cutoff.astimezone(UTC).replace(tzinfo=None) if cutoff.tzinfo else cutoff
    after = _rows(cluster)
    assert [k for k, ts in after.items() if ts < cutoff] == []
    kept = {k for k, ts in before.items() if ts >= cutoff}
    assert kept <= set(after), f"{len(kept - set(after))} newer rows lost"
    assert _leftovers(cluster) == []


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_batch_delete_killed_mid_run_says_what_committed_and_a_rerun_finishes(
    drill_lab: Lab, engine: str
) -> None:
    cluster = _cluster(drill_lab, engine)
    load_cluster(cluster, rows=20_000, seed=1, tables=("cleanup_batch",))
    before = _rows(cluster)
    proc = _start(drill_lab, *_cleanup_args(engine, "batch_delete", "--batch-size", "200",
                                            "--batch-delay", "0.2"))
    # Kill once a few chunks have committed.
    assert wait_for(lambda: len(_rows(cluster)) <= len(before) - 600, timeout=60)
    _kill_primary(drill_lab, engine)
    line = _final_line(proc)
    assert "chunk(s) committed" in line and "run it again" in line, line

    _restart(drill_lab, engine)
    done = run_cli("--config", str(drill_lab.config_path),
                   *_cleanup_args(engine, "batch_delete", "--json"))
    assert done.returncode == 0, done.stderr
    _assert_done(cluster, before, json.loads(done.stdout))


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_copy_killed_mid_run_swaps_nothing_and_a_rerun_removes_its_leftovers(
    drill_lab: Lab, engine: str
) -> None:
    cluster = _cluster(drill_lab, engine)
    load_cluster(cluster, rows=20_000, seed=1, tables=("cleanup_batch",))
    before = _rows(cluster)
    proc = _start(drill_lab, *_cleanup_args(engine, "copy", "--batch-size", "200",
                                            "--batch-delay", "0.2", "--drop-old"))
    new_table = "cleanup_bench._cleanup_batch_new"

    def copying() -> bool:
        try:
            with sql(cluster.nodes[0]) as run:
                return int(run(f"SELECT count(*) FROM {new_table}")[0][0]) >= 600
        except Exception:
            return False

    assert wait_for(copying, timeout=60)
    _kill_primary(drill_lab, engine)
    line = _final_line(proc)
    assert "nothing was swapped" in line and "the next run removes it first" in line, line

    _restart(drill_lab, engine)
    # The table is whole and untouched; the copy's table and triggers are still there.
    assert _rows(cluster) == before
    left = _leftovers(cluster)
    assert "_cleanup_batch_new" in left and len(left) > 1, left
    done = run_cli("--config", str(drill_lab.config_path),
                   *_cleanup_args(engine, "copy", "--drop-old", "--json"))
    assert done.returncode == 0, done.stderr
    _assert_done(cluster, before, json.loads(done.stdout))


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_a_workload_whose_primary_dies_ends_counting_the_failures(
    drill_lab: Lab, engine: str, tmp_path: Any
) -> None:
    cluster = _cluster(drill_lab, engine)
    load_cluster(cluster, rows=2_000, seed=1, tables=("cleanup_batch",))
    env = {**os.environ, "CLUSTERTOP_RESULTS_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [CLUSTERTOP, "--config", str(drill_lab.config_path), "workload", "run", "--cluster",
         CLUSTERS[engine], "--pattern", "oltp", "--table", TABLE, "--duration", "8",
         "--connections", "2", "--processes", "1", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        stdin=subprocess.DEVNULL,
    )
    time.sleep(3)
    _kill_primary(drill_lab, engine)
    code, out, err = _ended(proc, timeout=60)
    assert "Traceback" not in err and "internal error" not in err, err
    result = json.loads(out)
    assert result["transactions"] > 0, result  # what ran before the kill is counted
    assert result["errors"] > 0, result  # and what failed after it, by kind
    assert code == 0, (code, err)  # it ran its course: failures are counted, not fatal
    _restart(drill_lab, engine)
    again = run_cli("--config", str(drill_lab.config_path), "workload", "run", "--cluster",
                    CLUSTERS[engine], "--pattern", "oltp", "--table", TABLE, "--duration", "2",
                    "--json", env={"CLUSTERTOP_RESULTS_DIR": str(tmp_path)})
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["errors"] == 0
