"""batch_delete against pt-archiver --purge --bulk-delete on identical data, in one run, with the
replica's lag watched the same way for both.

Usage: .venv/bin/python bench/batch_delete_vs_ptarchiver.py [--dir LAB_DIR] [--rows 1000000]
       [--rounds 1] [--limit 5000] [--max-lag 0.3]

Each round loads --rows rows (seed 1: half older than the 10-day cutoff) into
cleanup_bench.cleanup_batch on the lab's MariaDB, purges the old half with pt-archiver
(--limit rows a chunk, --bulk-delete, --commit-each), reloads the same rows, and purges them
with `clustertop cleanup --method batch_delete --batch-size <limit> --batch-delay 0`. The
replica's heartbeat lag is read every 0.5 s by the same gauge during both, each started once the
replica has applied the load; its max is printed. batch_delete also runs throttled at each
--max-lag, to show what holding the replica's lag down costs.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import time
from datetime import timedelta

from benchlab import bench_lab

from clustertop.actions.cleanup.job import CleanupJob, CleanupSpec
from clustertop.actions.cleanup.throttle import ClusterGauge
from clustertop.actions.seed import load_cluster
from clustertop.collectors.connect import connect_mysql
from clustertop.core.config import load_config
from clustertop.lab.lab import Lab

TABLE = "cleanup_batch"
RETENTION = timedelta(days=10)


def one(node, statement: str, args: tuple = ()):  # type: ignore[no-untyped-def]
    conn = connect_mysql(node, connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute(statement, args)
            return cur.fetchone()[0]
    finally:
        conn.close()


def caught_up(cluster) -> None:  # type: ignore[no-untyped-def]
    """Wait until the replica has applied the load: its lag must not count against a purge."""
    gauge = ClusterGauge(cluster, cluster.nodes[0].name).start()
    try:
        if not gauge.wait_caught_up(below_s=0.3):
            raise SystemExit("the replica did not catch up with the load within 300 s")
    finally:
        gauge.close()


def pt_archiver(lab: Lab, cluster, limit: int) -> tuple[int, float, float | None]:  # type: ignore[no-untyped-def]
    node = cluster.nodes[0]
    cutoff = one(node, "SELECT UTC_TIMESTAMP(6)") - RETENTION
    older = int(one(node, f"SELECT COUNT(*) FROM cleanup_bench.{TABLE} WHERE ts < %s", (cutoff,)))
    source = f"h={node.host},P={node.port},D=cleanup_bench,t={TABLE},u={node.user},F={lab.my_cnf}"
    gauge = ClusterGauge(cluster, node.name).start()
    try:
        gauge.reading(timeout=10)
        started = time.monotonic()
        subprocess.run(
            [
                "pt-archiver",
                "--source",
                source,
                "--purge",
                "--where",
                f"ts < '{cutoff:%Y-%m-%d %H:%M:%S.%f}'",
                "--limit",
                str(limit),
                "--bulk-delete",
                "--commit-each",
                "--no-check-charset",
                "--set-vars",
                "time_zone='+00:00'",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        seconds = time.monotonic() - started
        time.sleep(1.0)  # the lag a chunk leaves shows a moment after it
    finally:
        gauge.close()
    left = int(one(node, f"SELECT COUNT(*) FROM cleanup_bench.{TABLE} WHERE ts < %s", (cutoff,)))
    assert left == 0, f"pt-archiver left {left} old rows"
    return older, seconds, gauge.max_lag_s


def ours(cluster, limit: int, max_lag: float | None) -> tuple[int, float, float | None]:  # type: ignore[no-untyped-def]
    spec = CleanupSpec(
        max_lag_s=max_lag,
        cluster=cluster,
        table=f"cleanup_bench.{TABLE}",
        method="batch_delete",
        retention_days=RETENTION.days,
        batch_size=limit,
        batch_delay_s=0.0,
    )
    job = CleanupJob(spec, cluster.nodes[0])
    job.start()
    job.join()
    assert job.result is not None, job.snapshot().error
    time.sleep(1.0)
    return job.result["rows_deleted"], job.result["duration_s"], job.result["max_lag_s"]


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--limit", type=int, default=5000)
    parser.add_argument(
        "--max-lag",
        type=lambda text: [float(v) for v in text.split(",")],
        default=[0.3],
        help="also run batch_delete throttled at these replica lags, e.g. 0.3,1 (seconds)",
    )
    args = parser.parse_args()
    if not shutil.which("pt-archiver"):
        raise SystemExit("pt-archiver not found (Debian: apt-get install percona-toolkit)")
    with bench_lab(args.dir, replicas=1) as lab:
        cluster = load_config(lab.config_path).clusters["lab-mariadb"]
        for n in range(args.rounds):
            load_cluster(cluster, rows=args.rows, seed=1, tables=(TABLE,))
            caught_up(cluster)
            peer_rows, peer_s, peer_lag = pt_archiver(lab, cluster, args.limit)
            load_cluster(cluster, rows=args.rows, seed=1, tables=(TABLE,))
            caught_up(cluster)
            peer_rate = peer_rows / peer_s
            print(
                f"round {n + 1}: pt-archiver {peer_rows:,} rows in {peer_s:.2f} s "
                f"({peer_rate:,.0f} rows/s, replica max lag {_s(peer_lag)})"
            )
            for max_lag in (None, *args.max_lag):
                if max_lag is not None:
                    load_cluster(cluster, rows=args.rows, seed=1, tables=(TABLE,))
                    caught_up(cluster)
                our_rows, our_s, our_lag = ours(cluster, args.limit, max_lag)
                our_rate = our_rows / our_s
                print(
                    f"round {n + 1}: batch_delete (max lag {_s(max_lag)}) {our_rows:,} rows in "
                    f"{our_s:.2f} s ({our_rate:,.0f} rows/s, replica max lag {_s(our_lag)}) | "
                    f"ratio {our_rate / peer_rate:.2f}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
