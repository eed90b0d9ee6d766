"""The Go/No-Go gate against real servers: GO on a healthy lab, NO-GO naming the replica and
its lag once its apply is stopped under writes, NO-GO naming a killed node, GO again after
recovery, and `--wait` returning as soon as it is GO. Bad rules are one line, exit 2."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from clustertop.collectors.gate import FAIL, PASS, UNKNOWN, Gate
from clustertop.collectors.samples import NodeSample, PollRound, ThroughputSample
from clustertop.core.config import ClusterConfig
from clustertop.core.gate import parse_rule
from clustertop.lab.lab import Lab
from tests.conftest import make_lab_dir, run_cli
from tests.helpers import set_replica_apply, sql

REPLICA = {"mariadb": "replica1", "postgres": "standby1"}


def _gate(lab: Lab, cluster: str, *extra: str) -> tuple[int, str, str]:
    done = run_cli("--config", str(lab.config_path), "gate", "--cluster", cluster, *extra)
    return done.returncode, done.stdout, done.stderr


class Writes:
    """Rows inserted on the primary, one every 20 ms, while the replica's apply is stopped."""

    def __init__(self, cluster: ClusterConfig) -> None:
        self.cluster = cluster
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.rows = 0
        self.error: Exception | None = None

    def _run(self) -> None:
        try:
            with sql(self.cluster.nodes[0]) as run:
                schema = "DATABASE" if self.cluster.family == "mysql" else "SCHEMA"
                run(f"CREATE {schema} IF NOT EXISTS gate_test")
                run("CREATE TABLE IF NOT EXISTS gate_test.writes (id INT PRIMARY KEY)")
                run("DELETE FROM gate_test.writes")
                while not self.stop.wait(0.02):
                    self.rows += 1
                    run("INSERT INTO gate_test.writes (id) VALUES (%s)", (self.rows,))
                    if self.cluster.family == "postgres":
                        run("COMMIT")
        except Exception as exc:  # said by the test, not lost in a thread
            self.error = exc

    def __enter__(self) -> Writes:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)
        assert self.error is None and self.rows > 20, (self.error, self.rows)


@pytest.mark.parametrize("engine", ["mariadb", "postgres"])
def test_the_gate_says_no_go_naming_the_lagging_replica_and_go_once_it_catches_up(
    engine: str, lab: Lab, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    cluster = mariadb if engine == "mariadb" else postgres
    code, out, err = _gate(lab, cluster.name)
    assert code == 0, out + err
    assert out.startswith(f"{cluster.name}: GO")
    set_replica_apply(cluster, False)
    try:
        with Writes(cluster):
            time.sleep(2.5)  # the heartbeat and the rows pile up behind the stopped apply
            code, out, _err = _gate(lab, cluster.name, "--json")
        verdict = json.loads(out)[0]
        assert code == 1 and verdict["verdict"] == "NO-GO"
        lag = next(r for r in verdict["rules"] if r["rule"] == "lag_s < 1")
        assert lag["state"] == "FAIL" and lag["value"] >= 1.0, lag
        assert lag["why"] == REPLICA[engine]  # which replica, not just that one lags
        text = _gate(lab, cluster.name)[1]
        assert "FAIL     lag_s < 1" in text and REPLICA[engine] in text, text
    finally:
        set_replica_apply(cluster, True)
    started = time.monotonic()
    code, out, err = _gate(lab, cluster.name, "--wait", "60")
    waited = time.monotonic() - started
    assert code == 0, out + err
    assert waited < 20, waited  # as soon as it is GO: the replica catches up in a moment


@pytest.fixture
def small_lab() -> Iterator[Lab]:
    root = make_lab_dir("clustertop-gate-lab-")
    lab = Lab(root)
    try:
        lab.up(("mariadb",), replicas=1)
        yield lab
    finally:
        lab.down()
        shutil.rmtree(root, ignore_errors=True)


def test_the_gate_names_a_killed_node_and_is_go_again_once_it_is_back(small_lab: Lab) -> None:
    assert _gate(small_lab, "lab-mariadb")[0] == 0
    replica = {(s.cluster, s.name): s for s in small_lab.status()}[("lab-mariadb", "replica1")]
    assert replica.pid
    os.kill(replica.pid, signal.SIGKILL)
    code, out, err = _gate(small_lab, "lab-mariadb")
    assert code == 1, out + err
    assert "FAIL     nodes_up == all" in out and "down: replica1" in out, out
    # Its lag and replication cannot be read: the replica that answers is none, so they do
    # not apply - the gate is NO-GO on the node, never on a made-up figure.
    small_lab.up(("mariadb",), replicas=1)
    code, out, err = _gate(small_lab, "lab-mariadb", "--wait", "60")
    assert code == 0, out + err


@pytest.mark.parametrize(
    ("rules", "fragment"),
    [
        ('rules = ["lag_s <"]', "gate.rules[0]: a rule is METRIC OP THRESHOLD"),
        ('rules = ["replica_lag < 1"]', "unknown metric 'replica_lag'"),
        ('rules = ["lag_s < fast"]', "threshold 'fast' is not a number"),
        ('rules = ["lag_s < 1 for ever"]', "a duration must be a number"),
        ('rules = [{ rule = "lag_s < 1", unknown = "maybe" }]', 'unknown must be "fail" or'),
        ('rules = "lag_s < 1"', "must be a list of rules"),
        ('colour = "red"', "gate.colour: unknown key"),
    ],
)
def test_bad_gate_rules_in_the_config_are_one_line_exit_2(
    lab: Lab, tmp_path, rules: str, fragment: str  # type: ignore[no-untyped-def]
) -> None:
    config = tmp_path / "gate.toml"
    config.write_text(lab.config_path.read_text() + f"\n[gate]\n{rules}\n")
    done = run_cli("--config", str(config), "gate")
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], done.stderr


def test_a_bad_rule_flag_is_one_line_exit_2(lab: Lab) -> None:
    for rule, fragment in (("tps > x", "unknown metric 'tps'"),
                           ("throughput.tps >", "a rule is METRIC OP"),
                           ("lag_s < inf", "finite")):
        code, _out, err = _gate(lab, "lab-mariadb", "--rule", rule)
        assert code == 2 and err.count("\n") == 1 and fragment in err, err


def _node(name: str, role: str, tps: float | None, rollbacks: float | None,
          at: float) -> NodeSample:
    throughput = None if tps is None else ThroughputSample(
        interval_s=1.0, tps=tps, qps=None, rows_read_ps=None, rows_inserted_ps=None,
        rows_updated_ps=None, rows_deleted_ps=None, log_bytes_ps=None, tps_source="test",
        rollbacks_ps=rollbacks)
    return NodeSample(cluster="c", node=name, engine="postgres", address="-", at=at, up=True,
                      role=role, throughput=throughput)


def test_a_rule_with_for_fails_only_once_its_condition_held_that_long() -> None:
    """The rule logic alone (rounds built by hand): 'rollback_ratio < 0.01 for 5s'."""
    gate = Gate("c", (parse_rule("rollback_ratio < 0.01 for 5s", "test"),))

    def state(at: float, tps: float | None, rollbacks: float | None) -> str:
        round_ = PollRound(at, (_node("p", "primary", tps, rollbacks, at),), 1.0)
        return gate.judge(round_).results[0].state

    assert state(0, 100, 0) == PASS
    assert state(1, 100, 5) == PASS  # failing, for 0 s of 5
    assert state(4, 100, 5) == PASS  # 3 s of 5
    assert state(6.5, 100, 5) == FAIL  # 5.5 s without a break
    assert state(7, 100, 0) == PASS  # cleared: the clock starts again
    assert state(8, 100, 5) == PASS
    assert state(9, None, None) == UNKNOWN  # no rates: unknown, never a made-up 0


async def test_the_tui_header_says_go_and_g_shows_every_rule_live(lab_config) -> None:  # type: ignore[no-untyped-def]
    from clustertop.tui.app import make_app
    from clustertop.tui.screens.gate import GateScreen
    from clustertop.tui.widgets.health import HealthBar

    app = make_app(lab_config)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(40):  # rates and the probe need a few rounds
            await pilot.pause(0.25)
            verdicts = app.state.verdicts
            if verdicts and all(v.go for v in verdicts.values()):
                break
        assert verdicts and all(v.go for v in verdicts.values()), {
            k: v.reason() for k, v in verdicts.items()}
        header = str(app.screen.query_one(HealthBar).render())
        assert "GO ·" in header and "NO-GO" not in header, header
        await pilot.press("o")
        await pilot.pause(0.6)
        assert isinstance(app.screen, GateScreen)
        from rich.console import Console

        console = Console(width=100, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
        console.print(app.screen.table)
        shown = console.export_text()
        assert "lab-mariadb" in shown and "lab-postgres" in shown
        assert "PASS" in shown and "lag_s < 1" in shown and "nodes_up == all" in shown
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, GateScreen)


def test_a_workload_with_gate_is_held_while_no_go_and_ended_by_an_abort_rule(
    mariadb: ClusterConfig,
) -> None:
    from dataclasses import replace

    from clustertop.actions.seed import load_cluster
    from clustertop.actions.workload.builtin import BuiltinWorkload
    from clustertop.actions.workload.driver import WorkloadSpec
    from clustertop.core.mixes import resolve_pattern
    from tests.helpers import wait_for

    load_cluster(mariadb, rows=2_000, seed=3, tables=("cleanup_batch",))
    held = replace(mariadb, gate_rules=(parse_rule("lag_s < 1", "test"),), abort_rules=())

    def workload(cluster: ClusterConfig, seconds: float) -> BuiltinWorkload:
        spec = WorkloadSpec(node=cluster.nodes[0], table="cleanup_bench.cleanup_batch",
                            pattern="traffic", mix=resolve_pattern("traffic"), connections=2,
                            target_tps=50, duration_s=seconds, processes=1)
        return BuiltinWorkload(spec, cluster.name, gate=cluster)

    job = workload(held, 14)
    job.start()
    try:
        assert wait_for(lambda: job.snapshot().done > 2, 15)
        set_replica_apply(held, False)
        assert wait_for(lambda: any("held by the gate: lag_s < 1" in line
                                    for line in job.snapshot().log), 15), job.snapshot().log
        time.sleep(0.5)
        before = job.tally.done
        time.sleep(2.0)
        assert job.tally.done == before  # nothing runs while held
    finally:
        set_replica_apply(held, True)
    job.join(60)
    snap = job.snapshot()
    assert snap.state == "finished", snap.error
    assert any("gate GO again" in line for line in snap.log)
    assert job.result is not None and job.result["gate_held_s"] >= 2.0
    assert job.tally.done > before  # it went on once GO

    ended = replace(mariadb, gate_rules=(), abort_rules=(parse_rule("lag_s < 1", "test"),))
    job = workload(ended, 30)
    job.start()
    try:
        assert wait_for(lambda: job.snapshot().done > 2, 15)
        set_replica_apply(ended, False)
        job.join(30)
    finally:
        set_replica_apply(ended, True)
    snap = job.snapshot()
    assert snap.state == "failed" and "stopped by abort rule lag_s < 1" in (snap.error or "")
    assert snap.elapsed_s() < 20


def test_a_cleanup_gauge_reads_only_what_its_rules_need() -> None:
    """The gauge polls the primary it protects: no admission probe (a backend forked every
    2 s) and no session list unless a rule reads sessions."""
    from clustertop.actions.cleanup.throttle import ClusterGauge
    from clustertop.core.config import parse_config
    from clustertop.core.gate import parse_rule
    from tests.canned import CONFIG_DATA

    cluster = parse_config(CONFIG_DATA).clusters["shop"]
    lag_only = ClusterGauge(cluster, "db1", pause_rules=[parse_rule("lag_s < 1", "test")])
    with_sessions = ClusterGauge(cluster, "db1", pause_rules=[parse_rule("lag_s < 1", "test")],
                                 abort_rules=[parse_rule("blocked_sessions == 0", "test")])
    try:
        for session in lag_only.poller.sessions:
            assert session.target.probe_interval is None
            assert session.collector.read_sessions is False
        assert all(s.collector.read_sessions for s in with_sessions.poller.sessions)
    finally:
        lag_only.poller.close()
        with_sessions.poller.close()
