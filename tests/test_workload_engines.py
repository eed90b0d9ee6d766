"""pgbench and sysbench as engines: their per-second progress parsed live agrees with their
own final report, and stopping the job stops the child process."""

from __future__ import annotations

import os
import time

import pytest

from clustertop.actions.workload.builtin import WorkloadSpec
from clustertop.actions.workload.external import ExternalWorkload
from clustertop.core.config import ClusterConfig
from clustertop.core.mixes import parse_mix
from clustertop.lab.lab import Lab
from tests.conftest import run_cli

TABLE = "cleanup_bench.cleanup_batch"


def _spec(cluster: ClusterConfig, **kw: object) -> WorkloadSpec:
    base: dict[str, object] = {"node": cluster.nodes[0], "table": TABLE, "pattern": "point-select",
                               "mix": parse_mix("S100"), "connections": 2, "target_tps": 400.0,
                               "duration_s": 8.0}
    base.update(kw)
    return WorkloadSpec(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", ["pgbench", "sysbench"])
def test_live_progress_agrees_with_the_engines_own_report(
    engine: str, lab: Lab, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    cluster = postgres if engine == "pgbench" else mariadb
    run_cli("--config", str(lab.config_path), "load", "--cluster", cluster.name, "--rows", "2000")
    job = ExternalWorkload(_spec(cluster), cluster.name, engine)
    job.start()
    job.join(60)
    snap = job.snapshot()
    assert snap.state == "finished", snap.error
    result = job.result
    assert result is not None
    live = [v for _t, v in snap.series_named("achieved")]
    assert len(live) >= 4
    parsed = sum(live) / len(live)
    assert abs(parsed - result["engine_reported_tps"]) <= 0.02 * result["engine_reported_tps"], (
        live, result)
    assert abs(result["achieved_tps"] - 400) <= 0.05 * 400
    assert result["latency_ms"]["p50"] <= result["latency_ms"]["p99"] <= result["latency_ms"]["max"]
    assert result["transactions"] > 0 and result["operations"] == {"select": result["transactions"]}


@pytest.mark.parametrize("engine", ["pgbench", "sysbench"])
def test_stopping_the_job_stops_the_child(
    engine: str, lab: Lab, mariadb: ClusterConfig, postgres: ClusterConfig
) -> None:
    cluster = postgres if engine == "pgbench" else mariadb
    run_cli("--config", str(lab.config_path), "load", "--cluster", cluster.name, "--rows", "2000")
    job = ExternalWorkload(_spec(cluster, target_tps=None, duration_s=60.0), cluster.name, engine)
    job.start()
    deadline = time.monotonic() + 10
    while (job.proc is None or not job.snapshot().series) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert job.proc is not None
    pid = job.proc.pid
    asked = time.monotonic()
    job.cancel()
    job.join(5)
    assert time.monotonic() - asked <= 2.5
    assert job.snapshot().state == "cancelled"
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # the whole group is gone


def test_engines_refuse_what_they_cannot_run(lab: Lab) -> None:
    wrong = run_cli("--config", str(lab.config_path), "workload", "run", "--cluster",
                    "lab-postgres", "--engine", "sysbench", "--pattern", "point-select",
                    "--table", TABLE, "--duration", "1")
    assert wrong.returncode == 2 and "this cluster needs pgbench" in wrong.stderr
    mix = run_cli("--config", str(lab.config_path), "workload", "run", "--cluster",
                  "lab-postgres", "--engine", "pgbench", "--pattern", "oltp", "--table", TABLE,
                  "--duration", "1")
    assert mix.returncode == 2 and "point-select pattern only" in mix.stderr
