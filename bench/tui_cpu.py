"""CPU of the TUI, idle at 1 s polling, beside pg_activity (the PostgreSQL peer) in one run.

Usage: .venv/bin/python bench/tui_cpu.py [--dir LAB_DIR] [--seconds 60]

Needs tmux, and pg_activity (Debian package pg-activity) for the peer. Starts clustertop on the
lab's config (all four nodes) and pg_activity on the lab's PostgreSQL primary (refresh 1 s),
each in its own 120x40 tmux session, and reads their CPU time from /proc over --seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchlab import bench_lab, tmux_session

from clustertop.core.config import load_config
from clustertop.lab.lab import Lab

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime + cutime + cstime) / TICKS


def tree_cpu(pid: int) -> float:
    """CPU of a process and its live children (plotext, threads are already in the parent)."""
    total = cpu_seconds(pid)
    for child in Path(f"/proc/{pid}/task").glob("*/children"):
        for c in child.read_text().split():
            if Path(f"/proc/{c}").exists():
                total += tree_cpu(int(c))
    return total


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir")
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    with bench_lab(args.dir, replicas=1) as lab:
        compare(lab, args)
    return 0


def compare(lab: Lab, args: argparse.Namespace) -> None:
    config = load_config(lab.config_path)
    pg = config.clusters["lab-postgres"].nodes[0]
    clustertop = str(Path(sys.executable).with_name("clustertop"))
    sessions = []
    try:
        ours = tmux_session("bench-clustertop", f"{clustertop} --config {lab.config_path}", {})
        sessions.append("bench-clustertop")
        peer = None
        if shutil.which("pg_activity"):
            peer = tmux_session(
                "bench-pg-activity",
                f"pg_activity -h 127.0.0.1 -p {pg.port} -U clustertop -d {pg.database} "
                "--refresh 1 --no-db-size",
                {"PGPASSFILE": str(lab.pgpass)},
            )
            sessions.append("bench-pg-activity")
        time.sleep(5)  # start-up is not idle
        before = {"clustertop": tree_cpu(ours)} | ({"pg_activity": tree_cpu(peer)} if peer else {})
        started = time.monotonic()
        time.sleep(args.seconds)
        wall = time.monotonic() - started
        after = {"clustertop": tree_cpu(ours)} | ({"pg_activity": tree_cpu(peer)} if peer else {})
        share = {k: (after[k] - before[k]) / wall * 100 for k in before}
        line = f"idle at 1 s over {wall:.0f} s: clustertop (4 nodes) {share['clustertop']:.2f}% of a core"
        if "pg_activity" in share:
            line += (
                f"; pg_activity (1 node) {share['pg_activity']:.2f}%; ratio "
                f"{share['clustertop'] / share['pg_activity']:.2f}"
            )
        print(line)
    finally:
        for session in sessions:
            subprocess.run(["tmux", "kill-session", "-t", session], check=False)


if __name__ == "__main__":
    raise SystemExit(main())
