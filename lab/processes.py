"""Starting and stopping only the server processes the lab itself started."""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from clustertop.core.errors import EnvironmentProblem

POSTGRES_OS_USER = "postgres"


def running_as_root() -> bool:
    return os.geteuid() == 0


def free_port(taken: set[int] | None = None) -> int:
    """A loopback port nobody listens on now (and that this lab has not handed out yet)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if not taken or port not in taken:
            if taken is not None:
                taken.add(port)
            return port
    raise EnvironmentProblem("no free loopback port found")


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def process_state(pid: int) -> str | None:
    """The kernel's one-letter state for pid, or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name in parentheses may hold spaces; the state follows the last ')'.
    return stat.rsplit(")", 1)[1].split()[0]


def owns_process(pid: int | None, marker: str) -> bool:
    """True when pid is alive and its command line names `marker` (our data directory).

    The marker check keeps a recycled pid of some other program from ever being signalled.
    """
    if not pid or pid <= 0:
        return False
    state = process_state(pid)
    if state is None or state in ("Z", "X"):
        _reap(pid)
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return marker in cmdline


def wait_for_zombie_gone(pid: int | None, timeout: float = 30.0) -> bool:
    """Wait until a killed pid is no longer a zombie; False if it still is after timeout.

    A server killed with SIGKILL stays a zombie until its parent reaps it. Our servers are
    re-parented to PID 1, which here reaps only every second or two, and a zombie still
    answers kill(pid, 0): PostgreSQL then refuses to start over its "live" lock file.
    """
    if not pid or pid <= 0:
        return True
    deadline = time.monotonic() + timeout
    while process_state(pid) == "Z":
        _reap(pid)
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def stop_process(pid: int, marker: str, sig: signal.Signals, timeout: float = 60.0) -> bool:
    """Signal our own process and wait for it to exit; SIGKILL only as a last resort."""
    if not owns_process(pid, marker):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not owns_process(pid, marker):
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and owns_process(pid, marker):
        time.sleep(0.05)
    return True


def as_server_user(argv: Sequence[str], engine: str) -> list[str]:
    """PostgreSQL refuses root, so as root its tools run as the postgres system user."""
    if running_as_root() and engine == "postgres":
        return ["runuser", "-u", POSTGRES_OS_USER, "--", *argv]
    return list(argv)


def chown_for_server(path: Path, engine: str) -> None:
    if running_as_root() and engine == "postgres":
        entry = pwd.getpwnam(POSTGRES_OS_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def run_checked(
    argv: Sequence[str], what: str, *, env: dict[str, str] | None = None, timeout: float = 300
) -> str:
    """Run a setup tool; a failure becomes one line with the tool's last words."""
    try:
        done = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except FileNotFoundError:
        raise EnvironmentProblem(f"{what}: {argv[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise EnvironmentProblem(f"{what}: {argv[0]} did not finish in {timeout:g} s") from None
    if done.returncode != 0:
        raise EnvironmentProblem(f"{what} failed: {last_line(done.stderr or done.stdout)}")
    return done.stdout


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def tail_error(log: Path, patterns: Sequence[str] = ("ERROR", "FATAL", "[ERROR]")) -> str:
    """The last error line a server wrote to its log, for a one-line startup failure."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return f"no log at {log}"
    for line in reversed(lines):
        if any(p in line for p in patterns):
            return line.strip()
    return last_line("\n".join(lines[-5:])) if lines else f"{log} is empty"
