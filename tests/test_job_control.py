"""`clustertop job` against a running `clustertop cleanup`, both real processes as an operator
runs them in two terminals: list, pause, set, resume and stop take effect at the next chunk
boundary and show in the job's log; bad requests are one line, exit 2."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from pathlib import Path

from clustertop.actions.seed import load_cluster
from clustertop.core.config import ClusterConfig
from clustertop.lab.lab import Lab
from tests.conftest import CLUSTERTOP, run_cli
from tests.helpers import wait_for


def _start_cleanup(lab: Lab, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CLUSTERTOP, "--config", str(lab.config_path), "cleanup", "--cluster", "lab-postgres",
         "--table", "cleanup_bench.cleanup_batch", "--method", "batch_delete",
         "--batch-size", "100", "--batch-delay", "0.2", "--yes", *extra],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL,
    )


def _listed(env: dict[str, str]) -> list[dict[str, object]]:
    done = run_cli("job", "list", "--json", env=env)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def test_job_pause_set_resume_reach_a_running_cleanup_at_its_chunk_boundaries(
    lab: Lab, postgres: ClusterConfig, tmp_path: Path
) -> None:
    load_cluster(postgres, rows=20_000, seed=5, tables=("cleanup_batch",))
    env = {"XDG_RUNTIME_DIR": str(tmp_path), "CLUSTERTOP_RESULTS_DIR": str(tmp_path / "out")}
    cleanup = _start_cleanup(lab, env)
    try:
        jobs = wait_for(lambda: [j for j in _listed(env) if j["done"]], timeout=30, step=0.3)
        assert jobs, cleanup.stderr.read() if cleanup.poll() is not None else "not listed"
        ref = str(jobs[0]["job"])
        assert ref == f"{cleanup.pid}:1" and jobs[0]["kind"] == "cleanup"
        assert jobs[0]["settings"]["batch_size"] == "100"  # type: ignore[index]
        socket_path = tmp_path / "clustertop" / f"{cleanup.pid}.sock"
        assert stat.S_IMODE(socket_path.stat().st_mode) == 0o600

        paused = run_cli("job", "pause", env=env)  # the only running job: no JOB needed
        assert paused.returncode == 0 and "next chunk boundary" in paused.stdout, paused.stderr
        time.sleep(0.8)  # the chunk under way commits, then it holds
        held = _listed(env)[0]["done"]
        time.sleep(1.5)
        now = _listed(env)[0]
        assert now["done"] == held and now["paused"], now

        changed = run_cli("job", "set", "batch_size=1000", ref, env=env)
        assert changed.returncode == 0 and "batch_size 100 -> 1000" in changed.stdout
        refused = run_cli("job", "set", "batch_size=0", env=env)
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.strip().count("\n") == 0 and "batch_size" in refused.stderr
        assert run_cli("job", "resume", str(cleanup.pid), env=env).returncode == 0
        _out, err = cleanup.communicate(timeout=120)
    finally:
        if cleanup.poll() is None:
            cleanup.kill()
    assert cleanup.returncode == 0, err
    assert "paused by the operator" in err and "resumed by the operator" in err
    assert "batch_size 100 -> 1000 (changed by the operator)" in err
    record = json.loads(next((tmp_path / "out").glob("cleanup-*.json")).read_text())
    assert record["held_s"] >= 1.5, record["held_s"]  # counted apart from the throttle's pauses
    sizes = [c["rows"] for c in record["chunk_rows"]]
    # 100 a chunk until the change, 1000 after it (the last may be short).
    switch = sizes.index(1000)
    assert set(sizes[:switch]) == {100} and set(sizes[switch:-1]) <= {1000}, sizes
    assert not socket_path.exists()  # the socket goes with the process


def test_job_stop_ends_the_cleanup_cleanly_and_bad_requests_are_one_line(
    lab: Lab, postgres: ClusterConfig, tmp_path: Path
) -> None:
    load_cluster(postgres, rows=20_000, seed=5, tables=("cleanup_batch",))
    env = {"XDG_RUNTIME_DIR": str(tmp_path), "CLUSTERTOP_RESULTS_DIR": str(tmp_path / "out")}
    nothing = run_cli("job", "pause", env=env)
    assert nothing.returncode == 2 and "no running job" in nothing.stderr
    cleanup = _start_cleanup(lab, env)
    try:
        assert wait_for(lambda: [j for j in _listed(env) if j["done"]], timeout=30, step=0.3)
        for args, fragment in (
            (("job", "pause", "12x"), "JOB: must be PID:ID"),
            (("job", "pause", "1:1"), "is not one running job"),
            (("job", "set", "batch_size"), "must be KEY=VALUE"),
            (("job", "set", "colour=red"), "must be one of batch_size"),
            (("job", "set", "target_lag_s=-1"), "target_lag_s: must be more than 0"),
        ):
            done = run_cli(*args, env=env)
            assert done.returncode == 2, (args, done.stderr)
            assert done.stderr.strip().count("\n") == 0 and fragment in done.stderr, done.stderr
        stopped = run_cli("job", "stop", env=env)
        assert stopped.returncode == 0, stopped.stderr
        _out, err = cleanup.communicate(timeout=60)
    finally:
        if cleanup.poll() is None:
            cleanup.kill()
    assert cleanup.returncode == 1 and "stop asked by `clustertop job stop`" in err
    assert "cancelled: every finished chunk stays done" in err
