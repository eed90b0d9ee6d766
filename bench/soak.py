"""Soak: the TUI polling the lab every 0.1 s for an hour with a workload running.

Usage: .venv/bin/python bench/soak.py [--dir LAB_DIR] [--minutes 60] [--interval 0.1] [--tps 50]

Needs tmux. Loads the seed rows, starts one builtin workload per cluster (oltp at --tps, from the
CLI, for the whole soak), and opens the real TUI in a 120x40 tmux session on a copy of the lab's
config whose poll_interval is --interval. Every 30 s it records the TUI's resident memory, its
threads and open file descriptors, and the sessions the servers themselves count from the TUI's
client ports (pg_stat_activity.client_port, the port in the MariaDB processlist's HOST). At the
end it prints the trace and the verdicts the reliability issue asks for: memory growth after
the first 5 minutes < 10%, and no growth in connections or threads.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchlab import bench_lab, tmux_session

from clustertop.collectors.connect import connect_mysql, connect_postgres
from clustertop.core.config import load_config
from clustertop.core.nodes import NodeSpec
from clustertop.lab.lab import Lab

WARM_UP_S = 300


def proc_status(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "Threads"):
            values[key] = int(rest.split()[0])
    values["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    return values


def client_ports(pid: int) -> set[int]:
    """Local TCP ports of the sockets the process holds open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            match = re.fullmatch(r"socket:\[(\d+)\]", target)
            if match:
                inodes.add(match.group(1))
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def server_sessions(nodes: list[NodeSpec], ports: set[int]) -> int:
    """Sessions the servers count from those client ports (read by a separate connection)."""
    total = 0
    for node in nodes:
        if node.family == "mysql":
            conn: Any = connect_mysql(node)
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT HOST FROM information_schema.PROCESSLIST")
                    for (host,) in cur.fetchall():
                        port = str(host or "").rpartition(":")[2]
                        total += port.isdigit() and int(port) in ports
            finally:
                conn.close()
        else:
            with connect_postgres(node) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE client_port = ANY(%s)",
                    (list(ports),),
                ).fetchone()
                total += int(row[0]) if row else 0
    return total


def soak_config(lab: Lab, interval: float) -> Path:
    text = lab.config_path.read_text().replace("poll_interval = 1.0", f"poll_interval = {interval}")
    path = lab.root / "soak.toml"
    path.write_text(text)
    return path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir")
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--tps", type=float, default=50)
    args = parser.parse_args()
    with bench_lab(args.dir, replicas=1) as lab:
        return soak(lab, args)


def soak(lab: Lab, args: argparse.Namespace) -> int:
    clustertop = str(Path(sys.executable).with_name("clustertop"))
    base = [clustertop, "--config", str(lab.config_path)]
    for name in ("lab-mariadb", "lab-postgres"):
        loaded = subprocess.run(
            [*base, "load", "--cluster", name, "--rows", "20000"], capture_output=True, text=True
        )
        if loaded.returncode != 0:
            raise SystemExit(f"loading the seed rows failed: {loaded.stderr.strip()}")
    config_path = soak_config(lab, args.interval)
    config = load_config(config_path)
    nodes = [n for c in config.clusters.values() for n in c.nodes]
    seconds = args.minutes * 60
    workloads = [
        subprocess.Popen(
            [*base, "workload", "run", "--cluster", name, "--pattern", "oltp",
             "--table", "cleanup_bench.cleanup_batch", "--tps", str(args.tps),
             "--duration", str(int(seconds + 120)), "--connections", "2"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in ("lab-mariadb", "lab-postgres")
    ]
    trace: list[tuple[float, dict[str, int], int]] = []
    try:
        pid = tmux_session("bench-soak", f"{clustertop} --config {config_path}", {})
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            time.sleep(30)
            status = proc_status(pid)
            sessions = server_sessions(nodes, client_ports(pid))
            trace.append((time.monotonic() - started, status, sessions))
            print(
                f"{trace[-1][0] / 60:6.1f} min  RSS {status['VmRSS'] / 1024:7.1f} MB  "
                f"threads {status['Threads']:3d}  fds {status['fds']:3d}  "
                f"server sessions {sessions}",
                flush=True,
            )
        alive = Path(f"/proc/{pid}").exists()
        loaded_throughout = all(w.poll() is None for w in workloads)
        print(f"workloads still running at the end: {loaded_throughout}")
        alive = alive and loaded_throughout
    finally:
        subprocess.run(["tmux", "kill-session", "-t", "bench-soak"], check=False)
        for w in workloads:
            w.terminate()
            w.wait(timeout=30)
    return verdict(trace, alive, args)


def verdict(trace: list[tuple[float, dict[str, int], int]], alive: bool, args: Any) -> int:
    warm = [t for t in trace if t[0] >= WARM_UP_S] or trace
    first, last = warm[0], warm[-1]
    rss0, rss1 = first[1]["VmRSS"], last[1]["VmRSS"]
    growth = (rss1 - rss0) / rss0 * 100
    peak = max(t[1]["VmRSS"] for t in warm)
    threads = sorted({t[1]["Threads"] for t in warm})
    sessions = sorted({t[2] for t in warm})
    fds = sorted({t[1]["fds"] for t in warm})
    print(
        f"\n{args.minutes:g} min at {args.interval:g} s polling, workload {args.tps:g} tps per "
        f"cluster: TUI and workloads alive at the end: {alive}; RSS after {WARM_UP_S // 60} min "
        f"{rss0 / 1024:.1f} MB -> {rss1 / 1024:.1f} MB at the end ({growth:+.1f}%), peak "
        f"{peak / 1024:.1f} MB; threads seen {threads}; fds seen {fds}; server sessions seen "
        f"{sessions}"
    )
    ok = alive and growth < 10 and max(sessions) <= min(sessions) + 1
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
