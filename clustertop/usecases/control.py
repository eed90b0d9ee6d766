"""Headless control of a running job, as gh-ost's interactive commands: a `clustertop cleanup`
(or compare) listens on a Unix socket in the user's runtime directory, and `clustertop job
list|pause|resume|set|stop` talks to it. One JSON line in, one JSON line out.

The socket is 0600 in a 0700 directory of the user's own, and the server also checks the
peer's uid: nobody else can pause or change someone's cleanup."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clustertop.actions.jobs import Job, JobSnapshot
from clustertop.core.errors import MISSING, InputError, OperationFailed

REQUEST_BYTES = 64 * 1024
TIMEOUT_S = 3.0
OPS = ("list", "pause", "resume", "stop", "set")


def control_dir(create: bool = True) -> Path:
    """$XDG_RUNTIME_DIR/clustertop, else /tmp/clustertop-UID: 0700 and the user's own."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) / "clustertop" if runtime and os.path.isdir(runtime) else None
    folder = base or Path(f"/tmp/clustertop-{os.getuid()}")
    if create:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.exists():
        info = folder.stat()
        if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
            raise OperationFailed(
                f"control directory {folder} is not private to this user (owner uid "
                f"{info.st_uid}, mode {stat.S_IMODE(info.st_mode):o}): remove it"
            )
    return folder


def _describe(snap: JobSnapshot) -> dict[str, Any]:
    return {
        "id": snap.id,
        "kind": snap.kind,
        "title": snap.title,
        "cluster": snap.cluster,
        "state": snap.state,
        "paused": snap.paused,
        "done": snap.done,
        "total": snap.total,
        "unit": snap.unit,
        "settings": dict(snap.settings),
        "current": snap.current,
    }


class ControlServer:
    """Serves the jobs `jobs()` returns (the process's running ones) until closed."""

    def __init__(self, jobs: Callable[[], Sequence[Job]], command: str) -> None:
        self.jobs = jobs
        self.command = command
        self.path = control_dir() / f"{os.getpid()}.sock"
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ControlServer:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # our pid's: a socket left by a process of the same pid
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old)
        self.path.chmod(0o600)
        sock.listen(4)
        sock.settimeout(0.2)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name="job-control", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        if self._sock is not None:
            self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(TIMEOUT_S)
                try:
                    reply = self._answer(conn)
                except Exception as exc:  # a bad request never takes the job down
                    reply = {"ok": False, "error": " ".join(str(exc).split())}
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps(reply).encode() + b"\n")

    def _answer(self, conn: socket.socket) -> dict[str, Any]:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
        peer_uid = int.from_bytes(creds[4:8], "little")
        if peer_uid != os.getuid():
            return {"ok": False, "error": f"uid {peer_uid} may not control this job"}
        request = json.loads(_read_line(conn))
        op = request.get("op")
        if op == "list":
            return {
                "ok": True,
                "pid": os.getpid(),
                "command": self.command,
                "jobs": [_describe(j.snapshot()) for j in self.jobs()],
            }
        if op not in OPS:
            return {"ok": False, "error": f"op {op!r}: must be one of {', '.join(OPS)}"}
        job = self._job(request.get("job"))
        if op == "pause":
            job.pause()
            job.log("pause asked by `clustertop job pause`")
            return {"ok": True, "message": f"job {job.id} pauses at its next chunk boundary"}
        if op == "resume":
            job.resume()
            return {"ok": True, "message": f"job {job.id} resumed"}
        if op == "stop":
            job.log("stop asked by `clustertop job stop`")
            job.cancel()
            return {"ok": True, "message": f"job {job.id} stops at its next chunk boundary"}
        try:
            line = job.change(str(request.get("key")), str(request.get("value")))
        except InputError as exc:
            return {"ok": False, "error": str(exc), "where": exc.where, "problem": exc.problem}
        return {"ok": True, "message": f"job {job.id}: {line}"}

    def _job(self, wanted: Any) -> Job:
        running = [j for j in self.jobs() if j.snapshot().running]
        if wanted is None and len(running) == 1:
            return running[0]
        for job in running:
            if job.id == wanted:
                return job
        ids = ", ".join(str(j.id) for j in running) or "none"
        raise OperationFailed(f"job {wanted}: not a running job of process {os.getpid()}"
                              f" (running: {ids})")


def _read_line(conn: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > REQUEST_BYTES:
            raise ValueError(f"request longer than {REQUEST_BYTES} bytes")
    return data.decode()


# -- the client side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteJob:
    pid: int
    command: str
    job: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.pid}:{self.job['id']}"


def ask(path: Path, request: dict[str, Any]) -> dict[str, Any]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(TIMEOUT_S)
        sock.connect(str(path))
        sock.sendall(json.dumps(request).encode() + b"\n")
        reply = json.loads(_read_line(sock) or "{}")
    if not isinstance(reply, dict):
        raise OperationFailed(f"{path}: an answer that is not a JSON object")
    return reply


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def list_jobs() -> list[RemoteJob]:
    """Every job of every running clustertop process of this user that takes control."""
    folder = control_dir(create=False)
    if not folder.exists():
        return []
    found: list[RemoteJob] = []
    for path in sorted(folder.glob("*.sock")):
        pid = int(path.stem) if path.stem.isdigit() else -1
        try:
            reply = ask(path, {"op": "list"})
        except (ConnectionRefusedError, FileNotFoundError):
            if pid > 0 and not _alive(pid):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()  # left by a process that died without closing it
            continue
        except (OSError, ValueError):
            continue  # busy or hung: not ours to judge; `list` shows the others
        found += [RemoteJob(reply.get("pid", pid), reply.get("command", "?"), job)
                  for job in reply.get("jobs", [])]
    return found


def resolve(ref: str | None) -> RemoteJob:
    """PID:ID as `job list` prints it, or PID; none: the only running job there is."""
    running = [j for j in list_jobs() if j.job["state"] in ("running", "cancelling")]
    if ref is None:
        if len(running) == 1:
            return running[0]
        if not running:
            raise InputError("JOB", MISSING, "no running job takes control: is a `clustertop"
                             " cleanup` running as this user?")
        refs = ", ".join(j.ref for j in running)
        raise InputError("JOB", MISSING, f"{len(running)} jobs run ({refs}): name one")
    pid_text, _, id_text = ref.partition(":")
    if not pid_text.isdigit() or (id_text and not id_text.isdigit()):
        raise InputError("JOB", ref, "must be PID:ID as `clustertop job list` prints it, or PID")
    matches = [j for j in running if j.pid == int(pid_text)
               and (not id_text or j.job["id"] == int(id_text))]
    if len(matches) != 1:
        refs = ", ".join(j.ref for j in running) or "none"
        raise InputError("JOB", ref, f"is not one running job (running: {refs})")
    return matches[0]


def command(ref: str | None, op: str, key: str | None = None, value: str | None = None) -> str:
    """Send pause, resume, stop or set to a job; the line it answered."""
    target = resolve(ref)
    request: dict[str, Any] = {"op": op, "job": target.job["id"]}
    if op == "set":
        request.update(key=key, value=value)
    reply = ask(control_dir(create=False) / f"{target.pid}.sock", request)
    if not reply.get("ok"):
        if reply.get("where"):  # the job refused the value: bad input, said as the job said it
            raise InputError(str(reply["where"]), value, str(reply.get("problem")))
        raise OperationFailed(f"job {target.ref}: {reply.get('error') or 'refused'}")
    return str(reply.get("message", "done"))
