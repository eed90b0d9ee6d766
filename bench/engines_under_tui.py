"""pgbench and sysbench through clustertop while the TUI monitors, against the same tool run
alone with the same command line, in one run.

Usage: .venv/bin/python bench/engines_under_tui.py [--dir LAB_DIR] [--seconds 20] [--rounds 3]
       [--connections 4] [--only pgbench|sysbench]

"Alone" is the exact argv clustertop's engine builds (ExternalWorkload.command_line), run
directly, its TPS read from its own final report. "Through clustertop" is `clustertop workload
run --engine ...` while `clustertop top` runs in an 80x24 tmux session on the same lab, polling
every second (started for those runs only). The two alternate, alone first, for --rounds rounds;
the ratio is of the sums.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlab import bench_lab, tmux_session

from clustertop.actions.seed import load_cluster
from clustertop.actions.workload.driver import WorkloadSpec
from clustertop.actions.workload.external import ExternalWorkload
from clustertop.actions.workload.table import check_table
from clustertop.core.config import load_config
from clustertop.core.mixes import parse_mix
from clustertop.lab.lab import Lab

TABLE = "cleanup_bench.cleanup_batch"
FINAL_TPS = {
    "pgbench": re.compile(r"^tps = ([\d.]+)", re.MULTILINE),
    "sysbench": re.compile(r"transactions:\s+\d+\s+\(([\d.]+) per sec\.\)"),
}


def alone(job: ExternalWorkload, seconds: float) -> float:
    shape = check_table(job.spec.node, job.spec.table)
    work = Path(tempfile.mkdtemp(prefix="clustertop-bench-"))
    try:
        argv, env = job.command_line(work, shape, seconds)
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    found = FINAL_TPS[job.engine].search(done.stdout)
    assert found, done.stdout[-500:]
    return float(found.group(1))


def through_clustertop(lab: Lab, cluster: str, engine: str, args: argparse.Namespace) -> float:
    clustertop = str(Path(sys.executable).with_name("clustertop"))
    done = subprocess.run(
        [
            clustertop,
            "--config",
            str(lab.config_path),
            "workload",
            "run",
            "--cluster",
            cluster,
            "--pattern",
            "point-select",
            "--table",
            TABLE,
            "--connections",
            str(args.connections),
            "--duration",
            str(args.seconds),
            "--engine",
            engine,
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return float(json.loads(done.stdout)["achieved_tps"])


def monitored(lab: Lab, run):  # type: ignore[no-untyped-def]
    """Run `run()` while `clustertop top` polls the lab in an 80x24 tmux session."""
    clustertop = str(Path(sys.executable).with_name("clustertop"))
    tmux_session("bench-monitor", f"{clustertop} --config {lab.config_path}", {}, size="80x24")
    try:
        time.sleep(10)  # past start-up: the TUI is polling every node, its first details read
        return run()
    finally:
        subprocess.run(["tmux", "kill-session", "-t", "bench-monitor"], check=False)


def compare(lab: Lab, args: argparse.Namespace) -> None:
    config = load_config(lab.config_path)
    for name, engine in (("lab-postgres", "pgbench"), ("lab-mariadb", "sysbench")):
        if args.only and engine != args.only:
            continue
        cluster = config.clusters[name]
        load_cluster(cluster, rows=100_000, seed=1, tables=("cleanup_batch",))
        spec = WorkloadSpec(
            node=cluster.nodes[0],
            table=TABLE,
            pattern="point-select",
            mix=parse_mix("S100"),
            connections=args.connections,
            duration_s=args.seconds,
        )
        job = ExternalWorkload(spec, name, engine)
        solo, ours = [], []
        for _ in range(args.rounds):
            solo.append(alone(job, args.seconds))
            ours.append(
                monitored(lab, lambda n=name, e=engine: through_clustertop(lab, n, e, args))
            )
        print(
            f"{name}: {engine} alone {' '.join(f'{t:,.0f}' for t in solo)} tps | through "
            f"clustertop with the TUI monitoring {' '.join(f'{t:,.0f}' for t in ours)} tps "
            f"| ratio {sum(ours) / sum(solo):.3f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--only", choices=["pgbench", "sysbench"], help="one engine only")
    args = parser.parse_args()
    with bench_lab(args.dir, replicas=1) as lab:
        compare(lab, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
