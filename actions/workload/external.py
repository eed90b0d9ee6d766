"""pgbench and sysbench as workload engines, for C-speed load: a child process each, its
per-second progress parsed live into the same series as the builtin driver's, its final
report into the same summary. Stopping the job stops the child and its whole group."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clustertop.actions.jobs import Job
from clustertop.actions.workload.builtin import workload_job_fields
from clustertop.actions.workload.driver import WorkloadSpec
from clustertop.actions.workload.histogram import Histogram
from clustertop.actions.workload.table import describe_table
from clustertop.collectors.engines import adapter_for
from clustertop.collectors.errors import close_quietly
from clustertop.core.config import ClusterConfig
from clustertop.core.errors import EnvironmentProblem, InputError

ENGINES = ("pgbench", "sysbench")
PGBENCH_PROGRESS = re.compile(
    r"progress: (?P<t>[\d.]+) s, (?P<tps>[\d.]+) tps, lat (?P<lat>[\d.]+) ms stddev [\d.]+"
    r"(?:, (?P<failed>\d+) failed)?"
)
SYSBENCH_PROGRESS = re.compile(
    r"\[ (?P<t>\d+)s \] thds: \d+ tps: (?P<tps>[\d.]+) .*lat \(ms,95%\): (?P<p95>[\d.]+) "
    r"err/s: (?P<err>[\d.]+)"
)


def check_engine(engine: str, family: str, mix: dict[str, int]) -> str:
    """The engine's binary, or one line saying why this engine cannot run this workload."""
    wanted = "pgbench" if family == "postgres" else "sysbench"
    if engine != wanted:
        raise InputError(
            "--engine",
            engine,
            f"drives {'PostgreSQL' if engine == 'pgbench' else 'MySQL'}; "
            f"this cluster needs {wanted}",
        )
    if set(mix) != {"select"}:
        raise InputError(
            "--engine", engine, "runs the point-select pattern only (use builtin for mixes)"
        )
    binary = shutil.which(engine)
    if binary is None:
        raise EnvironmentProblem(
            f"{engine} not found (Debian: apt-get install "
            f"{'postgresql-contrib' if engine == 'pgbench' else 'sysbench'})"
        )
    return binary


class ExternalWorkload(Job):
    def __init__(self, spec: WorkloadSpec, cluster: str, engine: str) -> None:
        super().__init__(**workload_job_fields(spec, cluster, engine))
        self.spec = spec
        self.engine = engine
        self.binary = check_engine(engine, spec.node.family, dict(spec.mix))
        self.result: dict[str, Any] | None = None
        self.proc: subprocess.Popen[str] | None = None

    def run(self) -> Sequence[tuple[str, str]]:
        spec = self.spec
        node = spec.node
        conn = adapter_for(node).connect(node, connect_timeout=5)
        try:
            shape = describe_table(conn, node.family, spec.table, node.database)
        finally:
            close_quietly(conn)
        duration = spec.duration_s or 10.0
        self.progress(0, duration)
        work = Path(tempfile.mkdtemp(prefix="clustertop-workload-"))
        try:
            argv, env = self.command_line(work, shape, duration)
            self.log(
                f"{self.engine} {spec.connections} connections, {duration:g} s, "
                f"target {spec.target_tps or 'unthrottled'}"
            )
            output = self._follow(argv, env, duration)
            self.result = (
                self._pgbench_result if self.engine == "pgbench" else self._sysbench_result
            )(output, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        from clustertop.actions.workload.builtin import BuiltinWorkload

        self.summary = BuiltinWorkload.summary_pairs(self.result)
        self.check_cancelled()
        return self.summary

    # -- command lines ------------------------------------------------------------------------------

    def command_line(
        self, work: Path, shape: Any, duration: float
    ) -> tuple[list[str], dict[str, str]]:
        """The child's argv and environment; its script and option files go into `work`."""
        return (self._pgbench if self.engine == "pgbench" else self._sysbench)(
            work, shape, duration
        )

    def _pgbench(self, work: Path, shape: Any, duration: float) -> tuple[list[str], dict[str, str]]:
        spec, node = self.spec, self.spec.node
        script = work / "point_select.sql"
        script.write_text(
            f"\\set id random({shape.key_min}, {max(shape.key_min, shape.key_max)})\n"
            f"{shape.select_sql().replace('%s', ':id')};\n"
        )
        argv = [
            self.binary,
            "-h",
            node.host,
            "-p",
            str(node.port),
            "-n",
            "-M",
            "prepared",
            "-c",
            str(spec.connections),
            "-j",
            str(spec.connections),
            "-T",
            str(round(duration)),
            "-P",
            "1",
            "-f",
            str(script),
            "-l",
            f"--log-prefix={work / 'txlog'}",
        ]
        if node.user:
            argv += ["-U", node.user]
        if spec.target_tps:
            argv += ["-R", f"{spec.target_tps:g}"]
        argv.append(node.database or "postgres")
        return argv, libpq_env(node)

    def _sysbench(
        self, work: Path, shape: Any, duration: float
    ) -> tuple[list[str], dict[str, str]]:
        spec, node = self.spec, self.spec.node
        script = work / "point_select.lua"
        select = shape.select_sql().replace("%s", "%d")
        script.write_text(
            "function thread_init()\n  drv = sysbench.sql.driver()\n  con = drv:connect()\nend\n"
            "function event()\n"
            f'  con:query(string.format("{select}", sysbench.rand.uniform({shape.key_min}, '
            f"{max(shape.key_min, shape.key_max)})))\nend\n"
            "function thread_done()\n  con:disconnect()\nend\n"
        )
        config = work / "sysbench.cfg"
        lines = [
            f"mysql-host={node.host}",
            f"mysql-port={node.port}",
            f"mysql-db={shape.schema}",
            f"mysql-user={node.user or _option(node, 'user') or 'root'}",
        ]
        password = node.resolve_password() or _option(node, "password")
        if password:
            lines.append(f"mysql-password={password}")
        # A 0600 file in a 0700 directory: the password never reaches the command line.
        config.write_text("\n".join(lines) + "\n")
        config.chmod(0o600)
        argv = [
            self.binary,
            f"--config-file={config}",
            f"--threads={spec.connections}",
            f"--time={round(duration)}",
            "--report-interval=1",
            "--histogram=on",
        ]
        if spec.target_tps:
            argv.append(f"--rate={spec.target_tps:g}")
        argv += [str(script), "run"]
        return argv, dict(os.environ)

    # -- the child ----------------------------------------------------------------------------------

    def _follow(self, argv: list[str], env: dict[str, str], duration: float) -> str:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.proc = proc
        watchdog = threading.Thread(target=self._stop_on_cancel, args=(proc,), daemon=True)
        watchdog.start()
        started = time.time()
        lines: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            self._progress_line(line.strip(), started)
        code = proc.wait()
        if code != 0 and not self.cancel_requested:
            tail = " ".join(line.strip() for line in lines[-3:])
            raise RuntimeError(f"{self.engine} exited with {code}: {tail}")
        return "".join(lines)

    def _stop_on_cancel(self, proc: subprocess.Popen[str]) -> None:
        while proc.poll() is None:
            if self._cancel.wait(0.1):
                _signal_group(proc, signal.SIGINT)
                try:
                    proc.wait(1.5)
                except subprocess.TimeoutExpired:
                    _signal_group(proc, signal.SIGKILL)
                return

    def _progress_line(self, line: str, started: float) -> None:
        pattern = PGBENCH_PROGRESS if self.engine == "pgbench" else SYSBENCH_PROGRESS
        match = pattern.search(line)
        if not match:
            return
        t = float(match["t"])
        at = started + t
        self.record("achieved", float(match["tps"]), at)
        if self.spec.target_tps:
            self.record("target", float(self.spec.target_tps), at)
        if self.engine == "pgbench":
            self.record("mean_ms", float(match["lat"]), at)
        else:
            self.record("p95_ms", float(match["p95"]), at)
        self.progress(t)
        self.log(line)

    # -- final reports ------------------------------------------------------------------------------

    def _pgbench_result(self, output: str, work: Path) -> dict[str, Any]:
        tx = _number(r"number of transactions actually processed: (\d+)", output)
        failed = _number(r"number of failed transactions: (\d+)", output) or 0
        tps = _number(r"tps = ([\d.]+)", output)
        h = Histogram()
        for log in work.glob("txlog*"):
            for row in log.read_text().splitlines():
                fields = row.split()
                if len(fields) >= 6:
                    latency_us = float(fields[2])
                    lag_us = float(fields[6]) if len(fields) > 6 else 0.0
                    h.record(latency_us + lag_us)  # from the scheduled start: queueing included
        return self._result(tps, tx, failed, h, output)

    def _sysbench_result(self, output: str, work: Path) -> dict[str, Any]:
        tx = _number(r"transactions:\s+(\d+)", output)
        tps = _number(r"transactions:\s+\d+\s+\(([\d.]+) per sec", output)
        errors = _number(r"ignored errors:\s+(\d+)", output) or 0
        h = Histogram()
        in_histogram = False
        for line in output.splitlines():
            if line.startswith("Latency histogram"):
                in_histogram = True
                continue
            if in_histogram:
                match = re.match(r"\s*([\d.]+) \|\**\s+(\d+)$", line)
                if match:
                    for _ in range(int(match[2])):
                        h.record(float(match[1]) * 1000)
                elif line.strip() and "value" not in line:
                    in_histogram = False
        return self._result(tps, tx, errors, h, output)

    def _result(
        self, tps: float | None, tx: float | None, errors: float, h: Histogram, output: str
    ) -> dict[str, Any]:
        def ms(q: float) -> float | None:
            v = h.percentile(q)
            return round(v / 1000, 3) if v is not None else None

        duration = self.snapshot().elapsed_s()
        return {
            "engine": self.engine,
            "pattern": self.spec.pattern,
            "table": self.spec.table,
            "connections": self.spec.connections,
            "target_tps": self.spec.target_tps,
            "achieved_tps": round(tps or 0.0, 2),
            "engine_reported_tps": tps,
            "transactions": int(tx or 0),
            "errors": int(errors),
            "errors_by_kind": {"failed": int(errors)} if errors else {},
            "duration_s": round(duration, 3),
            "latency_ms": {
                "p50": ms(50),
                "p95": ms(95),
                "p99": ms(99),
                "max": ms(100),
                "mean": round(h.mean_us / 1000, 3) if h.mean_us else None,
            },
            "operations": {"select": int(tx or 0)},
        }


def _number(pattern: str, text: str) -> float | None:
    match = re.search(pattern, text)
    return float(match[1]) if match else None


def _signal_group(proc: subprocess.Popen[str], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)  # the child leads its own group: nothing else is signalled


def libpq_env(node: Any) -> dict[str, str]:
    """The environment of a libpq tool (pgbench): none of ours PG* variables, and the password
    through the passfile or PGPASSWORD, never the command line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if node.passfile:
        env["PGPASSFILE"] = os.path.expanduser(node.passfile)
    if password := node.resolve_password():
        env["PGPASSWORD"] = password
    return env


def _option(node: Any, key: str) -> str | None:
    """A value from the node's MySQL option file ([client] section), as PyMySQL would read it."""
    import configparser

    from clustertop.collectors.connect import default_mysql_option_file

    path = node.option_file or default_mysql_option_file()
    if not path:
        return None
    parser = configparser.RawConfigParser(strict=False, allow_no_value=True)
    parser.read(os.path.expanduser(path))
    value = parser.get("client", key, fallback=None)
    return value.strip("'\"") if value else None


def workload_job(spec: WorkloadSpec, cluster: str, engine: str,
                 gate: ClusterConfig | None = None) -> Job:
    """The job for `engine` (builtin, pgbench, sysbench), its table checked first: a missing
    table or key is one line before any connection of the run opens. `gate` (builtin only):
    held while the cluster's gate is NO-GO, ended by its abort rules."""
    from clustertop.actions.workload.builtin import BuiltinWorkload
    from clustertop.actions.workload.script import check_script
    from clustertop.actions.workload.table import check_table

    if spec.script is not None:
        check_script(spec.node, spec.script)
    else:
        check_table(spec.node, spec.table)
    if engine == "builtin":
        return BuiltinWorkload(spec, cluster, gate)
    if gate is not None:
        raise InputError("--gate", engine, "holds the builtin driver only: pgbench and sysbench"
                         " cannot be held between transactions")
    return ExternalWorkload(spec, cluster, engine)
