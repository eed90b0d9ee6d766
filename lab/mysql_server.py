"""One MariaDB (or MySQL) server of the lab: initialise, start, replicate, stop."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from pathlib import Path

import pymysql

from clustertop.collectors.grants import grants_for
from clustertop.core.errors import EnvironmentProblem
from clustertop.lab.binaries import MySQLBinaries
from clustertop.lab.nodes import LabNode
from clustertop.lab.processes import (
    owns_process,
    port_in_use,
    run_checked,
    running_as_root,
    stop_process,
    tail_error,
)
from clustertop.lab.tls import TlsFiles

LAB_USER = "clustertop"
MONITOR_USER = "clustertop_monitor"


class MySQLServer:
    def __init__(
        self, node: LabNode, binaries: MySQLBinaries, tls: TlsFiles | None = None
    ) -> None:
        self.node = node
        self.bin = binaries
        self.tls = tls

    @property
    def datadir(self) -> Path:
        return self.node.path

    @property
    def socket_path(self) -> Path:
        return self.datadir / "mysqld.sock"

    @property
    def pid_file(self) -> Path:
        return self.datadir / "mysqld.pid"

    @property
    def log_file(self) -> Path:
        return self.datadir / "error.log"

    @property
    def initialised(self) -> bool:
        return (self.datadir / "mysql").is_dir()

    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def running(self) -> bool:
        return owns_process(self.pid(), str(self.datadir))

    def initialise(self) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        if self.bin.install_db:
            argv = [
                self.bin.install_db,
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ]
        else:
            argv = [
                self.bin.server,
                "--no-defaults",
                "--initialize-insecure",
                f"--datadir={self.datadir}",
            ]
        if running_as_root():
            argv.append("--user=root")
        run_checked(argv, f"{self.node.cluster}/{self.node.name}: initialising MariaDB")

    def start(self, timeout: float = 90.0) -> None:
        if self.running():
            return
        if port_in_use(self.node.port):
            raise EnvironmentProblem(
                f"{self.node.cluster}/{self.node.name}: port {self.node.port} is taken"
            )
        argv = [
            self.bin.server,
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--port={self.node.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.socket_path}",
            f"--pid-file={self.pid_file}",
            f"--log-error={self.log_file}",
            f"--server-id={self.node.server_id}",
            "--log-bin=binlog",
            "--binlog-format=ROW",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=128M",
            "--innodb-flush-log-at-trx-commit=2",
            "--max-connections=300",
            "--local-infile=1",
            "--performance-schema=ON",
            # Exact transaction counts for TPS, autocommit statements included.
            "--innodb-monitor-enable=trx_%",
        ]
        if self.bin.flavour == "mariadb":
            argv += ["--log-slave-updates", "--gtid-strict-mode=ON", "--innodb-stats-persistent=ON"]
            # Who holds the metadata lock an ALTER waits for (the Activity screen's chains).
            argv.append("--plugin-load-add=metadata_lock_info")
        else:
            argv += ["--gtid-mode=ON", "--enforce-gtid-consistency=ON", "--mysqlx=OFF"]
        if self.node.role == "replica":
            argv.append("--read-only=ON")
        if self.node.tls:
            if self.tls is None:
                raise EnvironmentProblem(f"{self.node.cluster}/{self.node.name}: no TLS files")
            # TCP clients must use TLS; the lab's own root login goes over the unix socket.
            argv += [
                f"--ssl-ca={self.tls.ca}",
                f"--ssl-cert={self.tls.cert}",
                f"--ssl-key={self.tls.key}",
                "--require-secure-transport=ON",
            ]
        if running_as_root():
            argv.append("--user=root")
        with contextlib.suppress(OSError):
            self.pid_file.unlink()
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise EnvironmentProblem(
                    f"{self.node.cluster}/{self.node.name}: MariaDB did not start: "
                    f"{tail_error(self.log_file)}"
                )
            if self.pid() and self._answers():
                return
            time.sleep(0.1)
        self.stop()
        raise EnvironmentProblem(
            f"{self.node.cluster}/{self.node.name}: MariaDB not ready after {timeout:g} s: "
            f"{tail_error(self.log_file)}"
        )

    def _answers(self) -> bool:
        try:
            conn = self.root_connection(timeout=1)
        except pymysql.err.MySQLError:
            return False
        conn.close()
        return True

    def root_connection(self, timeout: float = 5) -> pymysql.connections.Connection:  # type: ignore[type-arg]
        """Root over the unix socket: only the lab's own bootstrap uses it."""
        return pymysql.connect(
            unix_socket=str(self.socket_path),
            user="root",
            password="",
            connect_timeout=timeout,
            autocommit=True,
        )

    def bootstrap(self, password: str) -> None:
        """Create the lab user; kept out of the binlog so replicas can make their own."""
        conn = self.root_connection()
        try:
            with conn.cursor() as cur:
                cur.execute("SET SESSION sql_log_bin = 0")
                # Anonymous users shadow 'clustertop'@'127.0.0.1' logins; drop them.
                cur.execute("SELECT user, host FROM mysql.user WHERE user = ''")
                for user, host in cur.fetchall():
                    cur.execute("DROP USER %s@%s", (user, host))
                for host in ("127.0.0.1", "localhost", "::1"):
                    cur.execute(
                        "CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s",
                        (LAB_USER, host, password),
                    )
                    cur.execute(
                        "GRANT ALL PRIVILEGES ON *.* TO %s@%s WITH GRANT OPTION", (LAB_USER, host)
                    )
                cur.execute("FLUSH PRIVILEGES")
        finally:
            conn.close()

    def ensure_monitor_user(self, password: str) -> None:
        """The least-privilege monitor user, with exactly the grants the README lists; made on
        each server, out of the binlog, and again on an older lab's next `up`."""
        conn = self.root_connection()
        try:
            with conn.cursor() as cur:
                cur.execute("SET SESSION sql_log_bin = 0")
                for host in ("127.0.0.1", "localhost"):
                    cur.execute(
                        "CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s",
                        (MONITOR_USER, host, password),
                    )
                    account = f"'{MONITOR_USER}'@'{host}'"
                    for statement in grants_for("monitor", "mysql", user=account):
                        if not statement.startswith("--"):
                            cur.execute(statement)
        finally:
            conn.close()

    def replicate_from(self, source_port: int, password: str) -> None:
        conn = self.root_connection()
        try:
            with conn.cursor() as cur:
                if self.bin.flavour == "mariadb":
                    cur.execute("STOP SLAVE")
                    cur.execute(
                        "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%s, "
                        "MASTER_USER=%s, MASTER_PASSWORD=%s, MASTER_USE_GTID=slave_pos, "
                        "MASTER_CONNECT_RETRY=1",
                        (source_port, LAB_USER, password),
                    )
                    cur.execute("START SLAVE")
                else:
                    cur.execute("STOP REPLICA")
                    cur.execute(
                        "CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=%s, "
                        "SOURCE_USER=%s, SOURCE_PASSWORD=%s, SOURCE_AUTO_POSITION=1, "
                        "SOURCE_CONNECT_RETRY=1, GET_SOURCE_PUBLIC_KEY=1",
                        (source_port, LAB_USER, password),
                    )
                    cur.execute("START REPLICA")
        finally:
            conn.close()

    def stop(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        return stop_process(pid, str(self.datadir), signal.SIGTERM)
