"""batch_delete against pt-archiver --purge --bulk-delete on identical data, in one run, with the
replica's lag watched the same way for both.

Usage: .venv/bin/python bench/batch_delete_vs_ptarchiver.py [--dir LAB_DIR] [--rows 1000000]
       [--rounds 2] [--limit 5000] [--target-lag 0.3] [--chunk-time 0.5] [--max-lag ...]

Each round loads --rows rows (seed 1: half older than the 10-day cutoff) into
cleanup_bench.cleanup_batch on the lab's MariaDB, purges the old half with pt-archiver
(--limit rows a chunk, --bulk-delete, --commit-each), then reloads the same rows before each
clustertop run and purges them with `clustertop cleanup --method batch_delete --batch-size
<limit> --batch-delay 0`: unthrottled, with --target-lag, with --chunk-time (the
pt-online-schema-change way) and at each --max-lag. One observer, the same for every run,
reads the replica's heartbeat lag (written every 50 ms) every 0.25 s from just before the
purge until a second after it, once the replica has applied the load; its max and p95 are
printed. The goal (issue 16): with --target-lag 0.3, rows/s >= 1.5x pt-archiver's, the
replica's max lag no worse than pt-archiver's, and its p95 <= 0.3 s.
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


OBSERVER_HEARTBEAT_S = 0.05


def observer(cluster):  # type: ignore[no-untyped-def]
    return ClusterGauge(cluster, cluster.nodes[0].name,
                        heartbeat_interval=OBSERVER_HEARTBEAT_S).start()


def caught_up(cluster) -> None:  # type: ignore[no-untyped-def]
    """Wait until the replica has applied the load: its lag must not count against a purge."""
    gauge = ClusterGauge(cluster, cluster.nodes[0].name).start()
    try:
        if not gauge.wait_caught_up(below_s=0.3):
            raise SystemExit("the replica did not catch up with the load within 300 s")
    finally:
        gauge.close()


Outcome = tuple[int, float, float | None, float | None]  # rows, seconds, max lag, p95 lag


def pt_archiver(lab: Lab, cluster, limit: int) -> Outcome:  # type: ignore[no-untyped-def]
    node = cluster.nodes[0]
    cutoff = one(node, "SELECT UTC_TIMESTAMP(6)") - RETENTION
    older = int(one(node, f"SELECT COUNT(*) FROM cleanup_bench.{TABLE} WHERE ts < %s", (cutoff,)))
    source = f"h={node.host},P={node.port},D=cleanup_bench,t={TABLE},u={node.user},F={lab.my_cnf}"
    gauge = observer(cluster)
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
    return older, seconds, gauge.max_lag_s, gauge.lag_percentile(95)


def ours(cluster, limit: int, **pacing: float) -> Outcome:  # type: ignore[no-untyped-def]
    spec = CleanupSpec(
        **pacing,  # type: ignore[arg-type]
        cluster=cluster,
        table=f"cleanup_bench.{TABLE}",
        method="batch_delete",
        retention_days=RETENTION.days,
        batch_size=limit,
        batch_delay_s=0.0,
    )
    job = CleanupJob(spec, cluster.nodes[0])
    gauge = observer(cluster)
    try:
        gauge.reading(timeout=10)
        job.start()
        job.join()
        time.sleep(1.0)
    finally:
        gauge.close()
    assert job.result is not None, job.snapshot().error
    # duration_s: from fixing the keys to remove to the last chunk's commit (pt-archiver's
    # time also starts with its first read).
    seconds = job.result["duration_s"]
    return job.result["rows_deleted"], seconds, gauge.max_lag_s, gauge.lag_percentile(95)


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--limit", type=int, default=5000)
    parser.add_argument("--target-lag", type=float, default=0.3)
    parser.add_argument("--chunk-time", type=float, default=0.5)
    parser.add_argument(
        "--max-lag",
        type=lambda text: [float(v) for v in text.split(",") if v],
        default=[],
        help="also run batch_delete throttled at these replica lags, e.g. 0.3,1 (seconds)",
    )
    args = parser.parse_args()
    if not shutil.which("pt-archiver"):
        raise SystemExit("pt-archiver not found (Debian: apt-get install percona-toolkit)")
    variants: list[tuple[str, dict[str, float]]] = [
        ("unthrottled", {}),
        (f"--target-lag {args.target_lag:g}", {"target_lag_s": args.target_lag}),
        (f"--chunk-time {args.chunk_time:g}", {"chunk_time_s": args.chunk_time}),
        *((f"--max-lag {m:g}", {"max_lag_s": m}) for m in args.max_lag),
    ]
    with bench_lab(args.dir, replicas=1) as lab:
        cluster = load_config(lab.config_path).clusters["lab-mariadb"]
        for n in range(args.rounds):
            load_cluster(cluster, rows=args.rows, seed=1, tables=(TABLE,))
            caught_up(cluster)
            peer_rows, peer_s, peer_lag, peer_p95 = pt_archiver(lab, cluster, args.limit)
            peer_rate = peer_rows / peer_s
            print(
                f"round {n + 1}: pt-archiver {peer_rows:,} rows in {peer_s:.2f} s "
                f"({peer_rate:,.0f} rows/s, replica max lag {_s(peer_lag)}, p95 {_s(peer_p95)})",
                flush=True,
            )
            for name, pacing in variants:
                load_cluster(cluster, rows=args.rows, seed=1, tables=(TABLE,))
                caught_up(cluster)
                our_rows, our_s, our_lag, our_p95 = ours(cluster, args.limit, **pacing)
                our_rate = our_rows / our_s
                print(
                    f"round {n + 1}: batch_delete {name} {our_rows:,} rows in {our_s:.2f} s "
                    f"({our_rate:,.0f} rows/s, replica max lag {_s(our_lag)}, p95 "
                    f"{_s(our_p95)}) | ratio {our_rate / peer_rate:.2f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
