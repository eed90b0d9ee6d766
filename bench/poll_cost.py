"""What polling costs: per round, per node, in queries, CPU and memory.

Usage:
  .venv/bin/python bench/poll_cost.py [--dir LAB_DIR] [--seconds 60] [--nodes 50] [--memory-seconds 600]

Uses a running lab (--dir, default the lab's default dir) or starts a throw-away one. Phase 1
polls the lab's 4 nodes every second for --seconds and reports the round time (median, p95),
time per node, queries per round and the poller's CPU share of one core. Phase 2 polls
--nodes logical nodes (the lab's servers, repeated under other names) every second and reports
round times and the resident memory at the start and end of --memory-seconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import statistics
import time
from pathlib import Path

from benchlab import bench_lab

from clustertop.collectors.history import History
from clustertop.collectors.poller import Poller
from clustertop.core.config import load_config
from clustertop.lab.lab import Lab
from clustertop.usecases.wiring import poll_targets


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(
    poller: Poller, seconds: float, history: History, trace: list[float] | None = None
) -> tuple[list[float], list[int], float, list[float]]:
    """Poll every second for `seconds`; `trace` gets the resident memory once a minute."""
    rounds, queries, per_node = [], [], []
    cpu0, wall0 = time.process_time(), time.monotonic()
    next_trace = wall0 + 60
    while time.monotonic() - wall0 < seconds:
        if trace is not None and time.monotonic() >= next_trace:
            trace.append(rss_mb())
            next_trace += 60
        started = time.monotonic()
        r = poller.poll_round()
        history.add(r)
        rounds.append(r.duration_ms)
        queries.append(sum(n.queries for n in r.nodes))
        per_node.extend(n.poll_ms or 0 for n in r.nodes)
        time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
    cpu_share = (time.process_time() - cpu0) / (time.monotonic() - wall0)
    return rounds, queries, cpu_share, per_node


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def compare(lab: Lab, args: argparse.Namespace) -> None:
    config = load_config(lab.config_path)
    targets = poll_targets(config)
    poller = Poller(targets)
    rounds, queries, cpu, per_node = run(poller, args.seconds, History(args.history))
    poller.close()
    print(
        f"4-node lab, {len(rounds)} rounds at 1 s: round median {statistics.median(rounds):.1f} ms, "
        f"p95 {pct(rounds, 0.95):.1f} ms; per node median {statistics.median(per_node):.1f} ms, "
        f"p95 {pct(per_node, 0.95):.1f} ms; queries per round median "
        f"{statistics.median(queries):.0f}; poller CPU {cpu * 100:.2f}% of a core"
    )

    many = []
    for i in range(args.nodes):
        t = targets[i % len(targets)]
        spec = dataclasses.replace(t.spec, cluster=f"{t.spec.cluster}-{i // len(targets)}")
        # Heartbeats stay with the real 4 nodes: 50 writers on 2 primaries is not a fleet.
        many.append(
            dataclasses.replace(
                t, spec=spec, heartbeat_table=t.heartbeat_table if i < len(targets) else None
            )
        )
    big = Poller(many)
    history = History(args.history)
    # Warm up until the bounded history is full: before that, memory grows by design.
    run(big, args.history + 20, history)
    rss_start = rss_mb()
    trace: list[float] = []
    rounds, queries, cpu, _ = run(big, args.memory_seconds, history, trace)
    rss_end = rss_mb()
    big.close()
    print(
        f"{args.nodes} nodes, {len(rounds)} rounds at 1 s: round median {statistics.median(rounds):.1f} ms, "
        f"p95 {pct(rounds, 0.95):.1f} ms, max {max(rounds):.1f} ms; CPU {cpu * 100:.1f}% of a core; "
        f"RSS {rss_start:.1f} MB after warm-up -> {rss_end:.1f} MB after {args.memory_seconds:.0f} s "
        f"(peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB)"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument("--memory-seconds", type=float, default=600)
    parser.add_argument(
        "--history",
        type=int,
        default=100,
        help="samples kept per node; warm-up runs until the history is full",
    )
    args = parser.parse_args()
    with bench_lab(args.dir, replicas=1) as lab:
        compare(lab, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
