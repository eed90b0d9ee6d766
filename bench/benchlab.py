"""The lab a benchmark runs on: the one named, the default one when it is up, else a
throw-away one that is taken down (and deleted) when the benchmark ends."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from clustertop.lab.lab import Lab


@contextmanager
def bench_lab(directory: str | None, replicas: int = 1) -> Iterator[Lab]:
    lab = Lab(directory) if directory else Lab()
    status = lab.status() if lab.config_path.is_file() else []
    if status and all(s.up for s in status):
        yield lab
        return
    temp = Path(tempfile.mkdtemp(prefix="clustertop-bench-", dir="/tmp"))
    temp.chmod(0o755)  # as root, the postgres user must reach the data dirs
    lab = Lab(temp)
    try:
        lab.up(("mariadb", "postgres"), replicas=replicas)
        yield lab
    finally:
        lab.down()
        shutil.rmtree(temp, ignore_errors=True)


def tmux_session(name: str, command: str, env: dict[str, str], size: str = "120x40") -> int:
    """Run `command` in a detached tmux session of `size`; the pid of the command."""
    exports = " ".join(f"{k}={v}" for k, v in env.items())
    pid = subprocess.run(
        [
            "tmux",
            "new-session",
            "-d",
            "-P",
            "-F",
            "#{pane_pid}",
            "-s",
            name,
            "-x",
            size.split("x")[0],
            "-y",
            size.split("x")[1],
            f"exec env {exports} {command}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return int(pid)
