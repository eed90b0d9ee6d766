"""--read-only writes nothing: the TUI and every command run with the servers' own statement
statistics reset first, and afterwards those statistics hold no statement that writes (not
even the heartbeat row); the keys and commands that would write are refused, saying why."""

from __future__ import annotations

import re
import time

import pytest

from clustertop.core.config import ClusterConfig, load_config
from clustertop.lab.lab import Lab
from clustertop.tui.app import make_app
from clustertop.usecases.wiring import make_poller
from tests.conftest import run_cli
from tests.helpers import sql

WRITES = re.compile(
    r"^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|TRUNCATE|ANALYZE|OPTIMIZE|RENAME"
    r"|LOCK|VACUUM|GRANT|CLUSTER|REINDEX|COPY\s+\S+\s+FROM)\b",
    re.IGNORECASE,
)


def _reset(node) -> None:  # type: ignore[no-untyped-def]
    with sql(node) as run:
        if node.family == "mysql":
            run("TRUNCATE TABLE performance_schema.events_statements_summary_by_digest")
        else:
            run("SELECT pg_stat_statements_reset()")


def _writes(node) -> list[str]:  # type: ignore[no-untyped-def]
    with sql(node) as run:
        if node.family == "mysql":
            texts = [r[0] for r in run("SELECT DIGEST_TEXT FROM"
                                       " performance_schema.events_statements_summary_by_digest"
                                       " WHERE DIGEST_TEXT IS NOT NULL")]
        else:
            texts = [r[0] for r in run("SELECT query FROM pg_stat_statements")]
    return [t for t in texts if WRITES.match(t) and "performance_schema" not in t]


async def test_read_only_writes_nothing_anywhere(
    lab: Lab, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    from clustertop.actions.seed import load_cluster

    for cluster in (mariadb, postgres):
        load_cluster(cluster, rows=1_000, seed=1, tables=("cleanup_batch",))
    primaries = [mariadb.nodes[0], postgres.nodes[0]]
    # As the lab's monitor user, which holds only the grants `clustertop grants` lists.
    config = ["--config", str(lab.monitor_config_path), "--read-only"]
    for node in primaries:
        _reset(node)

    # The TUI, on live servers, for a few polls; the keys that would start a change are inert.
    read_only = load_config(lab.monitor_config_path)
    assert read_only.read_only
    assert {n.user for c in read_only.clusters.values() for n in c.nodes} == {
        "clustertop_monitor"
    }
    app = make_app(read_only, source=make_poller(read_only))
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(4):
            await pilot.pause(0.8)
            app.action_poll_now()
        await app.workers.wait_for_complete()
        screen = app.screen
        for key in ("w", "c"):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is screen, f"{key} opened a form in read-only mode"
        header = str(screen.query_one("HealthBar").render())
        assert "read-only" in header
        assert app.check_action("workload", ()) is False

    # Every command: what reads runs, what would write is refused in one line.
    polled = run_cli(*config, "poll", "--count", "3")
    assert polled.returncode == 0, polled.stderr
    for cluster in ("lab-mariadb", "lab-postgres"):
        dry = run_cli(*config, "cleanup", "--cluster", cluster, "--table",
                      "cleanup_bench.cleanup_batch", "--method", "copy", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        reads = run_cli(*config, "workload", "run", "--cluster", cluster, "--pattern",
                        "point-select", "--table", "cleanup_bench.cleanup_batch",
                        "--duration", "1", "--connections", "1")
        assert reads.returncode == 0, reads.stderr
        for refused in (
            ["cleanup", "--cluster", cluster, "--table", "cleanup_bench.cleanup_batch",
             "--method", "batch_delete", "--yes"],
            ["optimize", "--cluster", cluster, "--table", "cleanup_bench.cleanup_batch",
             "--mode", "analyze"],
            ["load", "--cluster", cluster, "--rows", "10"],
            ["workload", "run", "--cluster", cluster, "--pattern", "oltp",
             "--table", "cleanup_bench.cleanup_batch", "--duration", "1"],
        ):
            done = run_cli(*config, *refused)
            assert done.returncode == 2, (refused, done.stderr)
            assert "read-only" in done.stderr and len(done.stderr.strip().splitlines()) == 1

    for node in primaries:
        assert _writes(node) == [], node.key


def test_the_monitor_users_grants_leave_no_figure_unknown(
    lab: Lab, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    """Every figure of every node, the slower details included, is read by the monitor user:
    a grant missing from the list (and from the lab's user) would show here as unknown."""
    from clustertop.actions.seed import load_cluster

    for cluster in (mariadb, postgres):  # every watched table exists, made by the lab's owner
        load_cluster(cluster, rows=1_000, seed=1)
    config = load_config(lab.monitor_config_path)
    poller = make_poller(config)
    try:
        deadline = time.monotonic() + 30
        while True:
            round_ = poller.poll_round()
            if all(n.detail is not None for n in round_.nodes) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        poller.close()
    for node in round_.nodes:
        assert node.up, (node.key, node.error)
        assert node.unknown == (), (node.key, node.unknown)
        assert node.role in ("primary", "replica", "standby"), node.key
        assert node.detail is not None and node.detail.statements is not None
        assert node.detail.statements.available, (node.key, node.detail.statements.reason)
        for table in node.detail.tables:
            assert table.error is None and table.rows_exact, (node.key, table)
        for rep in node.replication:
            assert rep.running is True and rep.lag_s is not None, (node.key, rep)


def test_the_grants_the_readme_lists_are_those_the_tool_prints() -> None:
    from pathlib import Path

    from clustertop.collectors.grants import USES, grants_for

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for use in USES:
        for family, user in (("mysql", "'clustertop_monitor'@'%'"), ("postgres", "clustertop_monitor")):
            for line in grants_for(use, family, user=user):
                assert line in readme, (use, family, line)


@pytest.mark.parametrize("args", [["--read-only", "--allow-actions", "check"]])
def test_read_only_and_allow_actions_contradict(lab: Lab, args: list[str]) -> None:
    done = run_cli("--config", str(lab.config_path), *args)
    assert done.returncode == 2 and "contradicts --read-only" in done.stderr


async def test_a_missing_grant_shows_as_unknown_with_the_grant_never_as_a_fault(
    lab: Lab, mariadb: ClusterConfig, postgres: ClusterConfig, tmp_path, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    """A user with SELECT on the data only: the replica stays up, its role and lag say
    `unknown: ... needs GRANT SLAVE MONITOR`; a standby read without pg_monitor is not taken
    for a stopped one; the TUI and `poll` say which grant is missing."""
    from clustertop.collectors.samples import NodeSample

    password = "Partial-pw-1"
    monkeypatch.setenv("CT_PARTIAL_PW", password)
    with sql(mariadb.nodes[0]) as run:
        run("DROP USER IF EXISTS 'ct_partial'@'127.0.0.1'")
        run("CREATE USER 'ct_partial'@'127.0.0.1' IDENTIFIED BY %s", (password,))
        run("GRANT SELECT ON cleanup_bench.* TO 'ct_partial'@'127.0.0.1'")
    with sql(postgres.nodes[0]) as run:
        run("DROP ROLE IF EXISTS ct_partial")
        run(f"CREATE ROLE ct_partial LOGIN PASSWORD '{password}'")
    lines = []
    for cluster in (mariadb, postgres):
        lines += [f"[clusters.{cluster.name}]", f'engine = "{cluster.engine}"', ""]
        for node in cluster.nodes:
            lines += [
                f"[[clusters.{cluster.name}.nodes]]", f'name = "{node.name}"',
                'host = "127.0.0.1"', f"port = {node.port}", 'user = "ct_partial"',
                'password_env = "CT_PARTIAL_PW"',
            ]
            if node.family == "postgres":
                lines.append(f'database = "{node.database}"')
            lines.append("")
    path = tmp_path / "partial.toml"
    path.write_text("read_only = true\n" + "\n".join(lines))
    config = load_config(path)

    def by_key(nodes: tuple[NodeSample, ...]) -> dict[str, NodeSample]:
        return {n.key: n for n in nodes}

    poller = make_poller(config)
    try:
        deadline = time.monotonic() + 20  # the user reaches the replica by replication
        while True:
            nodes = by_key(poller.poll_round().nodes)
            if all(n.up for n in nodes.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        poller.close()
    replica, standby = nodes["lab-mariadb/replica1"], nodes["lab-postgres/standby1"]
    assert replica.up and standby.up, (replica.error, standby.error)
    assert replica.role == "unknown" and replica.lag_s is None
    assert any("needs GRANT SLAVE MONITOR ON *.*" in n for n in replica.unknown), replica.unknown
    assert any("needs GRANT PROCESS ON *.*" in n for n in replica.unknown), replica.unknown
    assert any("needs GRANT pg_monitor" in n for n in standby.unknown), standby.unknown
    assert standby.replication and standby.replication[0].running is None
    assert standby.replication[0].io_running is None  # unknown, not "stopped"

    polled = run_cli("--config", str(path), "poll", "--count", "2", env={"CT_PARTIAL_PW": password})
    assert polled.returncode == 0, polled.stderr
    assert "unknown: replication (role, lag): needs GRANT SLAVE MONITOR ON *.*" in polled.stdout

    app = make_app(config, source=make_poller(config))
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(3):
            await pilot.pause(0.8)
            app.action_poll_now()
        await app.workers.wait_for_complete()
        alerts = {a.key: a for a in app.state.alerts.active.values()}
        assert "lab-mariadb/replica1 unknown" in alerts
        assert "needs GRANT" in alerts["lab-mariadb/replica1 unknown"].text
        # The standby is not reported stopped: what the user cannot see is not a fault.
        assert not any("stopped" in a.text for a in alerts.values()), alerts
    with sql(mariadb.nodes[0]) as run:
        run("DROP USER 'ct_partial'@'127.0.0.1'")
    with sql(postgres.nodes[0]) as run:
        run("DROP ROLE ct_partial")
