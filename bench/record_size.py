"""Recording size per node-hour: clustertop record against Dolphie's daemon recording, the same
MariaDB primary at 1 s, in the same run (issue 18's goal: at most 1 MB per node-hour with
details on, and smaller than Dolphie's).

Usage: .venv/bin/python bench/record_size.py [--dir LAB_DIR] [--minutes 10]
       [--dolphie /tmp/dolphie-venv/bin/dolphie]

Dolphie (PyPI `dolphie`, in a venv of its own) runs `--daemon --refresh-interval 1
--replay-dir D` with its default daemon panels (processlist, metadata_locks; dashboard and
replication always). clustertop runs `record --interval 1` on a config holding the primary
alone, details on (tables, statements every detail pass). A light workload (the builtin
driver, traffic at 20 TPS) runs on the primary meanwhile so that both have something to
record. Dolphie's bytes are what its replay files grew by from its 15th second (its own
start-up excluded); clustertop's are its whole closed file. Per node-hour = bytes x 3600 /
seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlab import bench_lab

from clustertop.core.config import load_config


def tree_bytes(path: Path, pattern: str = "*") -> int:
    """Bytes of the files (database and write-ahead log; not the -shm index, a cache)."""
    return sum(f.stat().st_size for f in path.rglob(pattern)
               if f.is_file() and not f.name.endswith("-shm"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--dolphie", default=shutil.which("dolphie") or
                        "/tmp/dolphie-venv/bin/dolphie")
    args = parser.parse_args()
    if not Path(args.dolphie).exists():
        raise SystemExit("dolphie not found: python3 -m venv /tmp/dolphie-venv &&"
                         " /tmp/dolphie-venv/bin/pip install dolphie")
    clustertop = str(Path(sys.executable).with_name("clustertop"))
    with bench_lab(args.dir, replicas=1) as lab:
        config = load_config(lab.config_path)
        primary = config.clusters["lab-mariadb"].nodes[0]
        password = (lab.client_dir / "password").read_text().strip()
        work = Path(tempfile.mkdtemp(prefix="clustertop-record-size-"))
        one = work / "primary.toml"
        one.write_text(
            "[clusters.primary]\nengine = \"mariadb\"\n"
            "watched_tables = [\"cleanup_bench.cleanup_batch\"]\n"
            f"[[clusters.primary.nodes]]\nname = \"primary\"\nhost = \"{primary.host}\"\n"
            f"port = {primary.port}\nuser = \"{primary.user}\"\n"
            f"option_file = \"{primary.option_file}\"\n")
        subprocess.run([clustertop, "--config", str(lab.config_path), "load", "--cluster",
                        "lab-mariadb", "--rows", "20000"], check=True, capture_output=True)
        replays = work / "dolphie"
        replays.mkdir()
        seconds = args.minutes * 60
        dolphie = subprocess.Popen(
            [args.dolphie, "--daemon", "--refresh-interval", "1", "--replay-dir", str(replays),
             "--daemon-log-file", str(work / "dolphie.log"), "-u", str(primary.user), "-p",
             password, "-h", primary.host, "-P", str(primary.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            env={**os.environ, "HOME": str(work)})
        ours = work / "clustertop.db"
        recorder = subprocess.Popen(
            [clustertop, "--config", str(one), "record", "--out", str(ours), "--interval", "1",
             "--duration", str(seconds)], stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL)
        workload = subprocess.Popen(
            [clustertop, "--config", str(lab.config_path), "workload", "run", "--cluster",
             "lab-mariadb", "--pattern", "traffic", "--connections", "2", "--tps", "20",
             "--duration", str(seconds), "--table", "cleanup_bench.cleanup_batch",
             "--allow-actions"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(15)  # both have started and written their first rows
        dolphie_start = tree_bytes(replays)
        ours_start = tree_bytes(work, "clustertop.db*")
        started = time.monotonic()
        recorder.wait(seconds + 60)
        elapsed = time.monotonic() - started
        dolphie.send_signal(signal.SIGINT)
        try:
            dolphie.wait(30)
        except subprocess.TimeoutExpired:
            dolphie.kill()
        workload.wait(60)
        dolphie_grew = tree_bytes(replays) - dolphie_start
        # Ours: the whole closed file (its WAL checkpointed into it), over the whole run - its
        # first minute of plainly compressed rounds and its dictionary included. A growth
        # measured from the 15th second would subtract a write-ahead log that the close folds
        # back in, and read far too little.
        del ours_start
        ours_grew = tree_bytes(work, "clustertop.db*")
        ours_elapsed = seconds
        ours_hourly = ours_grew * 3600 / ours_elapsed
        dolphie_hourly = dolphie_grew * 3600 / elapsed
        print(f"one MariaDB primary at 1 s: clustertop record's file {ours_grew:,} bytes for"
              f" {ours_elapsed / 60:.1f} min ({ours_hourly / 1e6:.2f} MB per node-hour);"
              f" Dolphie --daemon's replay files grew {dolphie_grew:,} bytes in"
              f" {elapsed / 60:.1f} min ({dolphie_hourly / 1e6:.2f} MB per node-hour) | ratio"
              f" {ours_hourly / max(dolphie_hourly, 1):.3f}")
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
