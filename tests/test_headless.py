"""A headless job started under nohup survives the terminal it was started from going away:
the hangup reaches it, it carries on, finishes, and saves its record."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import termios
import time
from pathlib import Path

import pytest

from clustertop.actions.seed import load_cluster
from clustertop.core.config import ClusterConfig
from clustertop.lab.lab import Lab
from tests.conftest import CLUSTERTOP


def _on_a_terminal_that_then_hangs_up(argv: list[str], cwd: Path, env: dict[str, str]) -> int:
    """Run argv as the controlling process of a fresh pseudo-terminal, close the terminal (the
    kernel sends SIGHUP, as when an SSH session drops) and return the exit status."""
    master, slave = os.openpty()

    def take_the_terminal() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env,
        start_new_session=True, preexec_fn=take_the_terminal,
    )
    os.close(slave)
    time.sleep(2)  # the job is running
    assert proc.poll() is None, "the job ended before the terminal went away"
    os.close(master)  # the terminal is gone: SIGHUP to the session
    return proc.wait(timeout=120)


@pytest.mark.parametrize(
    "command",
    [
        ["workload", "run", "--pattern", "oltp", "--duration", "5", "--connections", "2",
         "--json"],
        ["cleanup", "--method", "batch_delete", "--batch-size", "100", "--batch-delay", "0.1",
         "--retention-days", "10", "--yes", "--json"],
    ],
    ids=["workload", "cleanup"],
)
def test_a_nohup_job_finishes_and_saves_its_record_after_a_hangup(
    lab: Lab, postgres: ClusterConfig, tmp_path: Path, command: list[str]
) -> None:
    load_cluster(postgres, rows=5_000, seed=1, tables=("cleanup_batch",))
    results = tmp_path / "results"
    env = {**os.environ, "CLUSTERTOP_RESULTS_DIR": str(results)}
    argv = [
        "nohup", CLUSTERTOP, "--config", str(lab.config_path), *command[:1],
        *(["run"] if command[0] == "workload" else []),
        "--cluster", "lab-postgres", "--table", "cleanup_bench.cleanup_batch",
        *command[2 if command[0] == "workload" else 1:],
    ]
    status = _on_a_terminal_that_then_hangs_up(argv, tmp_path, env)
    out_file = tmp_path / "nohup.out"
    output = out_file.read_text() if out_file.exists() else ""
    assert status == 0, (status, output)  # without nohup: -1, killed by the hangup
    saved = sorted(results.glob("*.json"))
    assert saved, output
    record = json.loads(saved[-1].read_text())
    if command[0] == "workload":
        assert record["transactions"] > 0 and record["duration_s"] >= 4.5, record
    else:
        assert record["rows_deleted"] > 0 and record["rows_left_older"] == 0, record
