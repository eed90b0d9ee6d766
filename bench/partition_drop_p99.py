"""The application's p99 while partition_drop runs, against its p99 with no cleanup running,
on both engines, in one run (issue 16's goal: within 2x on PostgreSQL, where a plain DETACH
once made it ~110x; MariaDB's DROP PARTITION should already hold it).

Usage: .venv/bin/python bench/partition_drop_p99.py [--dir LAB_DIR] [--rows 100000]
       [--rounds 3] [--pattern traffic] [--tps 50] [--baseline-s 10]

Each round, on each engine: the compare's workload (--pattern at --tps, 2 connections) runs
alone on cleanup_bench.cleanup_partitioned for --baseline-s seconds (its p99: the baseline);
then `compare --methods partition_drop --rows N --with-workload PATTERN --tps T` loads the
same table and drops its old partitions while the same workload runs (its p99: during).
"""

from __future__ import annotations

import argparse

from benchlab import bench_lab

from clustertop.actions.cleanup.compare import CompareJob, CompareSpec
from clustertop.actions.cleanup.job import CleanupSpec
from clustertop.actions.seed import load_cluster
from clustertop.actions.workload.builtin import BuiltinWorkload
from clustertop.actions.workload.driver import WorkloadSpec
from clustertop.collectors.roles import find_writable
from clustertop.core.config import load_config
from clustertop.core.mixes import resolve_pattern

TABLE = "cleanup_bench.cleanup_partitioned"


def baseline_p99(cluster, rows: int, pattern: str, tps: float, seconds: float) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """The workload alone: its p99 over the whole run, and the median and worst of its
    one-second p99s (a partition_drop lasts about a second: its p99 is over ~50 transactions,
    so the like-for-like baseline is a second's p99, not the p99 of 500)."""
    load_cluster(cluster, rows=rows, seed=1, tables=("cleanup_partitioned",))
    workload = BuiltinWorkload(
        WorkloadSpec(node=find_writable(cluster.nodes), table=TABLE, pattern=pattern,
                     mix=resolve_pattern(pattern), connections=2, target_tps=tps,
                     duration_s=seconds, processes=1),
        cluster.name,
    )
    workload.start()
    workload.join()
    assert workload.result is not None, workload.snapshot().error
    seconds_p99 = sorted(v for _t, v in workload.snapshot().series_named("p99_ms"))
    median = seconds_p99[len(seconds_p99) // 2]
    return float(workload.result["latency_ms"]["p99"]), median, seconds_p99[-1]


def during_p99(cluster, rows: int, pattern: str, tps: float) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    base = CleanupSpec(cluster=cluster, table=TABLE, method="partition_drop", retention_days=10)
    job = CompareJob(CompareSpec(base, ("partition_drop",), rows, 1, pattern, tps),
                     find_writable(cluster.nodes))
    job.start()
    job.join()
    assert job.rows, job.snapshot().error
    row = job.rows[0]
    return float(row["workload_p99_ms"]), float(row["duration_s"])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pattern", default="traffic")
    parser.add_argument("--tps", type=float, default=50.0)
    parser.add_argument("--baseline-s", type=float, default=10.0)
    args = parser.parse_args()
    with bench_lab(args.dir, replicas=1) as lab:
        config = load_config(lab.config_path)
        for n in range(args.rounds):
            for name in ("lab-postgres", "lab-mariadb"):
                cluster = config.clusters[name]
                alone, second_median, second_worst = baseline_p99(
                    cluster, args.rows, args.pattern, args.tps, args.baseline_s)
                during, seconds = during_p99(cluster, args.rows, args.pattern, args.tps)
                print(f"round {n + 1}: {name}: workload alone p99 {alone:.2f} ms (one-second"
                      f" p99s: median {second_median:.2f}, worst {second_worst:.2f}); during"
                      f" partition_drop ({seconds:.2f} s) p99 {during:.2f} ms | ratio"
                      f" {during / alone:.2f} to the run's p99, {during / second_median:.2f} to"
                      f" a second's", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
