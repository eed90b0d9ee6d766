"""Which part of a partition_drop run disturbs the application: the compare's workload (traffic
at 50 TPS, 2 connections) on cleanup_bench.cleanup_partitioned, and its per-second p99 before
and around one action at a time: starting the cleanup's gauge alone, a dry run (its reads
alone), and the real run.

Usage: .venv/bin/python bench/p99_phases.py [--dir LAB_DIR] [--cluster lab-postgres]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from benchlab import bench_lab

from clustertop.actions.cleanup.job import CleanupJob, CleanupSpec
from clustertop.actions.cleanup.throttle import ClusterGauge
from clustertop.actions.seed import load_cluster
from clustertop.actions.workload.builtin import BuiltinWorkload
from clustertop.actions.workload.driver import WorkloadSpec
from clustertop.core.config import ClusterConfig, load_config
from clustertop.core.mixes import resolve_pattern

TABLE = "cleanup_bench.cleanup_partitioned"


def around(cluster: ClusterConfig, label: str, action: Callable[[], None]) -> None:
    load_cluster(cluster, rows=100_000, seed=1, tables=("cleanup_partitioned",))
    time.sleep(1)
    workload = BuiltinWorkload(
        WorkloadSpec(node=cluster.nodes[0], table=TABLE, pattern="traffic",
                     mix=resolve_pattern("traffic"), connections=2, target_tps=50,
                     duration_s=None, processes=1), cluster.name)
    workload.start()
    time.sleep(3)
    started = time.time()
    action()
    ended = time.time()
    time.sleep(2.5)
    workload.cancel()
    workload.join(10)
    seconds = workload.snapshot().series_named("p99_ms")
    before = [round(v, 1) for t, v in seconds if t < started - 0.5]
    during = [round(v, 1) for t, v in seconds if started - 0.5 <= t <= ended + 1.5]
    print(f"{cluster.name} {label} ({ended - started:.2f} s): per-second p99 before {before},"
          f" around it {during}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir")
    parser.add_argument("--cluster", default="lab-postgres")
    args = parser.parse_args()
    with bench_lab(args.dir, replicas=1) as lab:
        cluster = load_config(lab.config_path).clusters[args.cluster]

        def gauge() -> None:
            g = ClusterGauge(cluster, cluster.nodes[0].name).start()
            g.reading(timeout=5)
            time.sleep(0.5)
            g.close()

        def run(dry: bool) -> None:
            job = CleanupJob(CleanupSpec(cluster=cluster, table=TABLE, method="partition_drop",
                                         retention_days=10, dry_run=dry), cluster.nodes[0])
            job.start()
            job.join()

        for label, action in (("gauge start alone", gauge), ("again", gauge),
                              ("dry run (reads)", lambda: run(True)),
                              ("real run", lambda: run(False))):
            around(cluster, label, action)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
