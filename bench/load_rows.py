"""Seed loading speed: clustertop's loader against the engines' own clients on the same rows.

Usage: .venv/bin/python bench/load_rows.py [--rows 1000000] [--dir LAB_DIR]

Starts a throw-away lab (no replicas) unless --dir names a running one. For each engine it
loads N rows into cleanup_bench.cleanup_batch with clustertop's loader, then loads the very
same rows (as a TSV file) into an identical table with the native client (`mariadb -e LOAD
DATA LOCAL INFILE`, `psql -c \\copy`), and prints rows/s of both and their ratio.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlab import bench_lab

from clustertop.actions.seed import _tsv, generate_rows, load_cluster
from clustertop.core.config import load_config
from clustertop.lab.binaries import find_postgres
from clustertop.lab.lab import Lab


def compare(lab: Lab, args: argparse.Namespace) -> None:
    config = load_config(lab.config_path)
    rows = generate_rows(args.rows, 1)
    anchor = datetime.now(UTC).replace(microsecond=0)
    print(f"rows: {args.rows}")
    for name in ("lab-mariadb", "lab-postgres"):
        cluster = config.clusters[name]
        node = cluster.nodes[0]
        started = time.perf_counter()
        report = load_cluster(cluster, rows=args.rows, seed=1, tables=("cleanup_batch",))
        total = time.perf_counter() - started
        ours = report.tables[0]
        peer_s = _peer_load(lab, node, rows, anchor, cluster.family)
        ratio = (args.rows / ours.seconds) / (args.rows / peer_s)
        print(
            f"{name}: clustertop {args.rows / ours.seconds:,.0f} rows/s table load "
            f"({ours.seconds:.2f} s; {args.rows / total:,.0f} rows/s with generation, "
            f"{total:.2f} s) | native client {args.rows / peer_s:,.0f} rows/s "
            f"({peer_s:.2f} s) | ratio {ratio:.2f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dir", help="a running lab to use (default: a temporary one)")
    args = parser.parse_args()
    with bench_lab(args.dir, replicas=0) as lab:
        compare(lab, args)
    return 0


def _peer_load(lab: Lab, node, rows, anchor, family: str) -> float:  # type: ignore[no-untyped-def]
    """The native client loads the same TSV into an identical empty table (timed end to end)."""
    fd, path = tempfile.mkstemp(suffix=".tsv", dir="/tmp")
    with os.fdopen(fd, "w") as fh:
        fh.writelines(
            _tsv(
                rows,
                anchor.replace(tzinfo=None) if family == "mysql" else anchor,
                with_zone=family != "mysql",
            )
        )
    os.chmod(path, 0o644)
    try:
        if family == "mysql":
            base = [
                "mariadb",
                f"--defaults-extra-file={lab.my_cnf}",
                "-h",
                "127.0.0.1",
                "-P",
                str(node.port),
                "--local-infile=1",
            ]
            subprocess.run(
                [
                    *base,
                    "-e",
                    "DROP TABLE IF EXISTS cleanup_bench.peer_load;"
                    " CREATE TABLE cleanup_bench.peer_load LIKE cleanup_bench.cleanup_batch",
                ],
                check=True,
            )
            sql = (
                f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE cleanup_bench.peer_load"
                " FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n'"
                " (id, ts, user_id, status, amount, payload)"
            )
            started = time.perf_counter()
            subprocess.run([*base, "-e", sql], check=True)
            return time.perf_counter() - started
        psql = [
            str(find_postgres().bindir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(node.port),
            "-U",
            "clustertop",
            "-d",
            node.database or "clustertop",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
        ]
        env = {**os.environ, "PGPASSFILE": str(lab.pgpass)}
        subprocess.run(
            [
                *psql,
                "-c",
                "DROP TABLE IF EXISTS cleanup_bench.peer_load",
                "-c",
                "CREATE TABLE cleanup_bench.peer_load "
                "(LIKE cleanup_bench.cleanup_batch INCLUDING ALL)",
            ],
            check=True,
            env=env,
        )
        started = time.perf_counter()
        subprocess.run(
            [
                *psql,
                "-c",
                f"\\copy cleanup_bench.peer_load "
                f"(id, ts, user_id, status, amount, payload) FROM '{path}'",
            ],
            check=True,
            env=env,
        )
        subprocess.run([*psql, "-c", "ANALYZE cleanup_bench.peer_load"], check=True, env=env)
        return time.perf_counter() - started
    finally:
        os.unlink(path)


if __name__ == "__main__":
    raise SystemExit(main())
