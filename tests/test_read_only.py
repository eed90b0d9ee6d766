"""--read-only writes nothing: the TUI and every command run with the servers' own statement
statistics reset first, and afterwards those statistics hold no statement that writes (not
even the heartbeat row); the keys and commands that would write are refused, saying why."""

from __future__ import annotations

import re

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
    config = ["--config", str(lab.config_path), "--read-only"]
    for node in primaries:
        _reset(node)

    # The TUI, on live servers, for a few polls; the keys that would start a change are inert.
    read_only = load_config(lab.config_path).with_read_only()
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


@pytest.mark.parametrize("args", [["--read-only", "--allow-actions", "check"]])
def test_read_only_and_allow_actions_contradict(lab: Lab, args: list[str]) -> None:
    done = run_cli("--config", str(lab.config_path), *args)
    assert done.returncode == 2 and "contradicts --read-only" in done.stderr
