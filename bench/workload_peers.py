"""Point-select throughput: the builtin driver against pgbench and sysbench, same table, same
statement, same connections, in one run; and each driver's CPU per transaction.

Usage: .venv/bin/python bench/workload_peers.py [--dir LAB_DIR] [--seconds 20] [--connections 4]
       [--processes 1,2,4]

pgbench runs the point select as a prepared statement (-M prepared), sysbench as a Lua event;
both through clustertop's engines, so the live parsing is exercised too. On 2 cores the driver
and the server share the CPU, so the driver's own CPU microseconds per transaction is printed
beside the ratio: that is the figure to drive down.
"""

from __future__ import annotations

import argparse
import resource
import time
from dataclasses import replace

from benchlab import bench_lab

from clustertop.actions.seed import load_cluster
from clustertop.actions.workload.builtin import BuiltinWorkload, WorkloadSpec
from clustertop.actions.workload.external import ExternalWorkload
from clustertop.core.config import load_config
from clustertop.core.mixes import parse_mix
from clustertop.lab.lab import Lab

TABLE = "cleanup_bench.cleanup_batch"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(job, own_cpu: bool) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """TPS and CPU microseconds per transaction: for the builtin driver this process and its
    worker processes, for a peer its child process alone."""
    cpu0 = children_cpu() + (time.process_time() if own_cpu else 0.0)
    job.start()
    job.join()
    cpu = children_cpu() + (time.process_time() if own_cpu else 0.0) - cpu0
    result = job.result
    assert result is not None, job.snapshot().error
    return float(result["achieved_tps"]), cpu * 1e6 / max(1, result["transactions"])


def compare(lab: Lab, args: argparse.Namespace) -> None:
    config = load_config(lab.config_path)
    for name, engine in (("lab-postgres", "pgbench"), ("lab-mariadb", "sysbench")):
        cluster = config.clusters[name]
        load_cluster(cluster, rows=100_000, seed=1, tables=("cleanup_batch",))
        spec = WorkloadSpec(
            node=cluster.nodes[0],
            table=TABLE,
            pattern="point-select",
            mix=parse_mix("S100"),
            connections=args.connections,
            target_tps=None,
            duration_s=args.seconds,
        )
        peer, peer_us = measure(ExternalWorkload(spec, name, engine), own_cpu=False)
        print(f"{name}: {engine} {peer:,.0f} tps ({peer_us:.0f} us CPU/tx)")
        for processes in args.processes:
            job = BuiltinWorkload(replace(spec, processes=processes), name)
            ours, ours_us = measure(job, own_cpu=True)
            print(
                f"{name}: builtin, {job.processes} process(es): {ours:,.0f} tps "
                f"({ours_us:.0f} us CPU/tx) | ratio to {engine} {ours / peer:.2f}"
            )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument(
        "--processes",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 2, 4],
        help="builtin driver's process counts to try, e.g. 1,2,4 (1 = threads)",
    )
    args = parser.parse_args()
    with bench_lab(args.dir, replicas=0) as lab:
        compare(lab, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
