"""An independent reading of a MariaDB/MySQL replica's lag, for checking the figures a cleanup
records and the screens draw: a heartbeat of its own (schema `lagprobe`, not clustertop's) is
written on the primary every 50 ms and read on the replica every 100 ms; the lag is the age of
the newest heartbeat the replica holds, so it reads high by up to 50 ms.

Usage: .venv/bin/python bench/lag_probe.py --config LAB/clustertop.toml [--cluster lab-mariadb]
           [--seconds 25] -- COMMAND...   (runs COMMAND while it reads; prints max lag)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time

from clustertop.collectors.connect import connect_mysql
from clustertop.core.config import load_config

WRITE_EVERY_S = 0.05
READ_EVERY_S = 0.1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--cluster", default="lab-mariadb")
    parser.add_argument("--seconds", type=float, default=25.0)
    parser.add_argument("command", nargs="*")
    args = parser.parse_args()
    cluster = load_config(args.config).clusters[args.cluster]
    primary, replica = cluster.nodes[0], cluster.nodes[1]
    writer_conn = connect_mysql(primary, connect_timeout=5)
    reader_conn = connect_mysql(replica, connect_timeout=5)
    with writer_conn.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS lagprobe")
        cur.execute("CREATE TABLE IF NOT EXISTS lagprobe.hb (id INT PRIMARY KEY, ts DOUBLE)")
        cur.execute("REPLACE INTO lagprobe.hb VALUES (1, %s)", (time.time(),))
    writer_conn.commit()
    stop = threading.Event()

    def write() -> None:
        with writer_conn.cursor() as cur:
            while not stop.is_set():
                cur.execute("UPDATE lagprobe.hb SET ts = %s WHERE id = 1", (time.time(),))
                writer_conn.commit()
                stop.wait(WRITE_EVERY_S)

    threading.Thread(target=write, daemon=True).start()
    # The replica must hold a fresh heartbeat before the reading means anything.
    deadline = time.monotonic() + 60
    lags: list[tuple[float, float]] = []
    with reader_conn.cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute("SELECT ts FROM lagprobe.hb WHERE id = 1")
            reader_conn.commit()
            row = cur.fetchone()
            if row and time.time() - float(row[0]) < 0.5:
                break
            time.sleep(READ_EVERY_S)
        started = time.monotonic()
        child = subprocess.Popen(args.command) if args.command else None
        while time.monotonic() - started < args.seconds or (child and child.poll() is None):
            cur.execute("SELECT ts FROM lagprobe.hb WHERE id = 1")
            reader_conn.commit()
            row = cur.fetchone()
            lags.append((time.monotonic() - started, time.time() - float(row[0])))
            time.sleep(READ_EVERY_S)
    stop.set()
    peak_at, peak = max(lags, key=lambda p: p[1])
    print(f"lag_probe: {len(lags)} readings, max lag {peak:.2f} s at +{peak_at:.1f} s, "
          f"over 0.3 s for {sum(READ_EVERY_S for _t, lag in lags if lag > 0.3):.1f} s")
    return child.returncode if child else 0


if __name__ == "__main__":
    sys.exit(main())
