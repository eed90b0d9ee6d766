"""The lab: real servers come up, replicate, and go away leaving nothing behind."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import time
import uuid
from pathlib import Path

import pytest

from clustertop.collectors.connect import connect_mysql, connect_postgres
from clustertop.core.config import ClusterConfig, load_config
from clustertop.core.errors import EnvironmentProblem
from clustertop.lab.lab import Lab
from clustertop.lab.processes import owns_process
from tests.conftest import make_lab_dir, run_cli


def _lab_processes(root: Path) -> list[int]:
    """Every process on the machine whose command line mentions the lab directory."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if str(root) in cmdline:
                found.append(int(proc.name))
    return found


def _wait_for(predicate, timeout: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_every_node_answers_and_every_replica_replicates(lab: Lab) -> None:
    rows = lab.status()
    assert {(r.cluster, r.role) for r in rows} == {
        ("lab-mariadb", "primary"),
        ("lab-mariadb", "replica"),
        ("lab-postgres", "primary"),
        ("lab-postgres", "standby"),
    }
    for row in rows:
        assert row.up, row
        assert row.pid and owns_process(row.pid, str(lab.root))
        if row.role in ("replica", "standby"):
            assert row.replicating is True, row
    ports = [r.port for r in rows]
    assert len(set(ports)) == len(ports)


def test_status_cli_json(lab: Lab) -> None:
    done = run_cli("lab", "status", "--dir", str(lab.root), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert len(data) == 4
    assert all(item["up"] for item in data)
    assert {item["engine"] for item in data} == {"mariadb", "postgres"}


def test_a_row_written_on_the_mariadb_primary_appears_on_its_replica(
    mariadb: ClusterConfig,
) -> None:
    primary, replica = mariadb.nodes
    token = uuid.uuid4().hex
    conn = connect_mysql(primary)
    with contextlib.closing(conn), conn.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS labcheck")
        cur.execute("CREATE TABLE IF NOT EXISTS labcheck.marks (token CHAR(32) PRIMARY KEY)")
        cur.execute("INSERT INTO labcheck.marks VALUES (%s)", (token,))

    def seen() -> bool:
        rconn = connect_mysql(replica)
        with contextlib.closing(rconn), rconn.cursor() as rcur:
            rcur.execute(
                "SELECT COUNT(*) FROM information_schema.tables "
                "WHERE table_schema='labcheck' AND table_name='marks'"
            )
            if rcur.fetchone()[0] == 0:  # type: ignore[index]
                return False
            rcur.execute("SELECT COUNT(*) FROM labcheck.marks WHERE token = %s", (token,))
            return rcur.fetchone()[0] == 1  # type: ignore[index]

    assert _wait_for(seen)


def test_a_row_written_on_the_postgres_primary_appears_on_its_standby(
    postgres: ClusterConfig,
) -> None:
    primary, standby = postgres.nodes
    token = uuid.uuid4().hex
    with connect_postgres(primary) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS labcheck_marks (token text PRIMARY KEY)")
        conn.execute("INSERT INTO labcheck_marks VALUES (%s)", (token,))

    def seen() -> bool:
        with connect_postgres(standby) as conn:
            if conn.execute("SELECT to_regclass('labcheck_marks')").fetchone()[0] is None:  # type: ignore[index]
                return False
            row = conn.execute("SELECT count(*) FROM labcheck_marks WHERE token = %s", (token,))
            return row.fetchone()[0] == 1  # type: ignore[index]

    assert _wait_for(seen)


def test_up_twice_reuses_what_runs(lab: Lab) -> None:
    before = {(r.cluster, r.name): r.pid for r in lab.status()}
    lab.up(("mariadb", "postgres"), replicas=1)
    after = {(r.cluster, r.name): r.pid for r in lab.status()}
    assert before == after


def test_the_lab_config_is_valid_with_actions_on_and_no_password(lab: Lab) -> None:
    text = lab.config_path.read_text()
    password = (lab.client_dir / "password").read_text().strip()
    assert password and password not in text
    config = load_config(lab.config_path)
    assert set(config.clusters) == {"lab-mariadb", "lab-postgres"}
    assert all(c.actions for c in config.clusters.values())
    for secret in (lab.my_cnf, lab.pgpass, lab.client_dir / "password"):
        assert secret.stat().st_mode & 0o077 == 0


@pytest.fixture
def spare_lab():  # type: ignore[no-untyped-def]
    root = make_lab_dir("clustertop-spare-lab-")
    the_lab = Lab(root)
    try:
        yield the_lab
    finally:
        the_lab.down()
        shutil.rmtree(root, ignore_errors=True)


def test_down_stops_exactly_its_processes_and_up_again_works(spare_lab: Lab) -> None:
    spare_lab.up(("mariadb", "postgres"), replicas=1)
    pids = spare_lab.pids()
    assert len(pids) == 4
    config = load_config(spare_lab.config_path)
    token = uuid.uuid4().hex
    with connect_postgres(config.clusters["lab-postgres"].nodes[0]) as conn:
        conn.execute("CREATE TABLE survives (token text)")
        conn.execute("INSERT INTO survives VALUES (%s)", (token,))

    done = run_cli("lab", "down", "--dir", str(spare_lab.root))
    assert done.returncode == 0, done.stderr
    assert "stopped 4 node(s)" in done.stdout
    assert _lab_processes(spare_lab.root) == []
    assert not any(owns_process(pid, str(spare_lab.root)) for pid in pids)

    spare_lab.up(("mariadb", "postgres"), replicas=1)
    rows = spare_lab.status()
    assert all(r.up for r in rows)
    assert all(r.replicating for r in rows if r.role in ("replica", "standby"))
    with connect_postgres(config.clusters["lab-postgres"].nodes[0]) as conn:
        assert conn.execute("SELECT token FROM survives").fetchone() == (token,)


def test_a_taken_port_fails_clearly_and_leaves_nothing_running(spare_lab: Lab) -> None:
    spare_lab.up(("postgres",), replicas=0)
    spare_lab.down()
    port = spare_lab.nodes()[0].port
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", port))
    blocker.listen()
    try:
        with pytest.raises(EnvironmentProblem, match=f"port {port} is taken"):
            spare_lab.up(("mariadb", "postgres"), replicas=1)
        assert _lab_processes(spare_lab.root) == []
        done = run_cli("lab", "up", "--dir", str(spare_lab.root))
        assert done.returncode == 2
        assert len(done.stderr.strip().splitlines()) >= 1
        assert f"port {port} is taken" in done.stderr.strip().splitlines()[-1]
        assert "Traceback" not in done.stderr
        assert _lab_processes(spare_lab.root) == []
    finally:
        blocker.close()


def test_demo_brings_the_lab_up_loads_once_and_reuses(spare_lab: Lab) -> None:
    first = run_cli("demo", "--dir", str(spare_lab.root), "--rows", "2000", "--no-tui")
    assert first.returncode == 0, first.stderr
    assert "loading cleanup_bench.cleanup_batch" in first.stderr
    assert all(r.up for r in spare_lab.status())
    second = run_cli("demo", "--dir", str(spare_lab.root), "--rows", "2000", "--no-tui")
    assert second.returncode == 0, second.stderr
    assert "lab-mariadb: seed data already loaded" in second.stderr
    assert "lab-postgres: seed data already loaded" in second.stderr
    # A cleanup since took rows away: the next demo would have nothing old to clean, so it
    # loads them again (on that cluster only).
    from clustertop.core.config import load_config
    from tests.helpers import sql

    mariadb = load_config(spare_lab.config_path).clusters["lab-mariadb"]
    with sql(mariadb.nodes[0]) as run:
        run("DELETE FROM cleanup_bench.cleanup_batch ORDER BY ts LIMIT 10")
    third = run_cli("demo", "--dir", str(spare_lab.root), "--rows", "2000", "--no-tui")
    assert third.returncode == 0, third.stderr
    assert "lab-mariadb: seed data already loaded" not in third.stderr
    assert "lab-postgres: seed data already loaded" in third.stderr
    with sql(mariadb.nodes[0]) as run:
        assert run("SELECT COUNT(*) FROM cleanup_bench.cleanup_batch")[0][0] == 2000


def test_a_killed_server_still_a_zombie_is_waited_for_before_a_restart() -> None:
    """A SIGKILLed postmaster stays a zombie until reaped, and PostgreSQL refuses to start
    over the lock file of a pid that kill(pid, 0) still finds. The lab waits it out."""
    import os
    import signal
    import subprocess

    from clustertop.lab.processes import process_state, wait_for_zombie_gone

    child = subprocess.Popen(["sleep", "60"])
    os.kill(child.pid, signal.SIGKILL)
    assert _wait_for(lambda: process_state(child.pid) == "Z", timeout=5)
    assert wait_for_zombie_gone(child.pid, timeout=5)
    assert process_state(child.pid) is None
    child.returncode = -9  # reaped above; keep Popen from waiting on a pid that is gone
