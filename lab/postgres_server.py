"""One PostgreSQL server of the lab (primary, streaming standby, or Citus node)."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import psycopg

from clustertop.core.errors import EnvironmentProblem
from clustertop.lab.binaries import PostgresBinaries
from clustertop.lab.nodes import LabNode
from clustertop.lab.processes import (
    as_server_user,
    chown_for_server,
    owns_process,
    port_in_use,
    run_checked,
    stop_process,
    tail_error,
    wait_for_zombie_gone,
)
from clustertop.lab.tls import TlsFiles

LAB_USER = "clustertop"
MONITOR_USER = "clustertop_monitor"
LAB_DATABASE = "clustertop"


class PostgresServer:
    def __init__(
        self,
        node: LabNode,
        binaries: PostgresBinaries,
        passfile: Path,
        tls: TlsFiles | None = None,
    ) -> None:
        self.node = node
        self.bin = binaries
        self.passfile = passfile
        self.tls = tls

    @property
    def datadir(self) -> Path:
        return self.node.path

    @property
    def log_file(self) -> Path:
        return self.datadir / "server.log"

    @property
    def initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").is_file()

    def pid(self) -> int | None:
        try:
            return int((self.datadir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def running(self) -> bool:
        return owns_process(self.pid(), str(self.datadir))

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        # Citus connects between nodes with libpq; the passfile gives it the lab password.
        env["PGPASSFILE"] = str(self.passfile)
        return env

    def _prepare_dir(self) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        self.datadir.chmod(0o700)
        chown_for_server(self.datadir, "postgres")

    def initialise(self, password: str) -> None:
        self._prepare_dir()
        pwfile = self.datadir.parent / f".{self.node.name}.pw"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        chown_for_server(pwfile, "postgres")
        try:
            run_checked(
                as_server_user(
                    [
                        self.bin.tool("initdb"),
                        "-D",
                        str(self.datadir),
                        "-U",
                        LAB_USER,
                        f"--pwfile={pwfile}",
                        "--auth-local=trust",
                        "--auth-host=scram-sha-256",
                        "--encoding=UTF8",
                        "--no-locale",
                    ],
                    "postgres",
                ),
                f"{self.node.cluster}/{self.node.name}: initdb",
                env=self._env(),
            )
        finally:
            pwfile.unlink(missing_ok=True)
        self._write_settings(self._base_settings())
        if self.node.tls:
            self._require_tls()

    def _require_tls(self) -> None:
        """TLS on, and pg_hba taking TCP logins over TLS only (hostssl); no unix socket."""
        if self.tls is None:
            raise EnvironmentProblem(f"{self.node.cluster}/{self.node.name}: no TLS files")
        for source, name in ((self.tls.cert, "server.crt"), (self.tls.key, "server.key")):
            target = self.datadir / name
            shutil.copyfile(source, target)
            target.chmod(0o600)
            chown_for_server(target, "postgres")
        self._write_settings(
            {"ssl": "on", "ssl_cert_file": "'server.crt'", "ssl_key_file": "'server.key'"}
        )
        hba = self.datadir / "pg_hba.conf"
        kept = [
            line for line in hba.read_text().splitlines()
            if not line.strip().startswith("host")
        ]
        kept.append("hostssl all all 127.0.0.1/32 scram-sha-256")
        hba.write_text("\n".join(kept) + "\n")

    def _base_settings(self) -> dict[str, str]:
        preload = ["pg_stat_statements"]
        if self.node.engine == "citus":
            preload.insert(0, "citus")  # citus must be first in the list
        preload += [p for p in self.node.preload.split(",") if p]
        return {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": "''",
            "shared_preload_libraries": f"'{','.join(preload)}'",
            "wal_level": "logical" if self.node.engine == "citus" else "replica",
            "max_wal_senders": "10",
            "max_replication_slots": "10",
            "hot_standby": "on",
            "max_connections": "200",
            "shared_buffers": "128MB",
            "track_io_timing": "on",
            "pg_stat_statements.track": "all",
            "logging_collector": "off",
            # Who caused a line: the quiet-logs test looks for clustertop's own sessions.
            "log_line_prefix": "'%m [%p] %q%a@%d '",
            **self._citus_settings(),
        }

    def _citus_settings(self) -> dict[str, str]:
        if "timescaledb" in self.node.preload:
            return {"timescaledb.telemetry_level": "off"}  # the lab has no network to call
        if self.node.engine != "citus":
            return {}
        # Tenant statistics (citus_stat_tenants) for the Shards screen's tenant view.
        settings = {"citus.stat_tenants_track": "'all'"}
        # PostgreSQL 15.20 (and the other minors of that release) lets only the libraries in
        # output_plugin_libraries decode logical replication, and Citus moves and splits shards
        # by logical replication in its default transfer mode: without citus in the list every
        # non-blocking move fails ("library "citus" may not be used as an output plugin").
        plugins = self.bin.setting_default("output_plugin_libraries")
        if plugins is not None and "citus" not in plugins:
            listed = [p.strip() for p in plugins.split(",") if p.strip()]
            settings["output_plugin_libraries"] = f"'{', '.join([*listed, 'citus'])}'"
        return settings

    def _write_settings(self, settings: dict[str, str]) -> None:
        """Lab settings go last in postgresql.conf, so they win over anything above them."""
        conf = self.datadir / "postgresql.conf"
        lines = [f"{key} = {value}" for key, value in settings.items()]
        block = "\n# clustertop lab\n" + "\n".join(lines) + "\n"
        with conf.open("a") as fh:
            fh.write(block)

    def clone_from(self, source_port: int) -> None:
        """A streaming standby made with pg_basebackup, following the primary by name."""
        self._prepare_dir()
        run_checked(
            as_server_user(
                [
                    self.bin.tool("pg_basebackup"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(source_port),
                    "-U",
                    LAB_USER,
                    "-D",
                    str(self.datadir),
                    "-R",
                    "-X",
                    "stream",
                    "-c",
                    "fast",
                    "-w",
                ],
                "postgres",
            ),
            f"{self.node.cluster}/{self.node.name}: pg_basebackup",
            env=self._env(),
        )
        conninfo = (
            f"host=127.0.0.1 port={source_port} user={LAB_USER} "
            f"passfile={self.passfile} application_name={self.node.name}"
        )
        self._write_settings({"primary_conninfo": f"'{conninfo}'"})

    def start(self, timeout: float = 90.0) -> None:
        if self.running():
            return
        stale_pid = self.pid()
        if not wait_for_zombie_gone(stale_pid):
            raise EnvironmentProblem(
                f"{self.node.cluster}/{self.node.name}: the killed server (pid {stale_pid}) "
                "was not reaped by its parent within 30 s; PostgreSQL will not start over it"
            )
        if port_in_use(self.node.port):
            raise EnvironmentProblem(
                f"{self.node.cluster}/{self.node.name}: port {self.node.port} is taken"
            )
        argv = as_server_user(
            [
                self.bin.tool("pg_ctl"),
                "-D",
                str(self.datadir),
                "-l",
                str(self.log_file),
                "-o",
                f"-p {self.node.port}",
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            ],
            "postgres",
        )
        try:
            run_checked(argv, "pg_ctl start", env=self._env(), timeout=timeout + 10)
        except EnvironmentProblem:
            raise EnvironmentProblem(
                f"{self.node.cluster}/{self.node.name}: PostgreSQL did not start: "
                f"{tail_error(self.log_file)}"
            ) from None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._answers():
                return
            time.sleep(0.1)
        self.stop()
        raise EnvironmentProblem(
            f"{self.node.cluster}/{self.node.name}: PostgreSQL not answering after {timeout:g} s"
        )

    def connect(self, dbname: str = "postgres", timeout: int = 5) -> psycopg.Connection:  # type: ignore[type-arg]
        ca = str(self.tls.ca) if self.node.tls and self.tls else None
        return psycopg.connect(
            host="127.0.0.1",
            port=self.node.port,
            user=LAB_USER,
            dbname=dbname,
            passfile=str(self.passfile),
            connect_timeout=timeout,
            autocommit=True,
            sslmode="verify-full" if ca else None,
            sslrootcert=ca,
        )

    def _answers(self) -> bool:
        try:
            with self.connect(timeout=2) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def bootstrap(self) -> None:
        """The lab database with the statistics extensions (and Citus where wanted)."""
        with self.connect() as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (LAB_DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{LAB_DATABASE}"')
        with self.connect(LAB_DATABASE) as conn:
            if self.node.engine == "citus":
                conn.execute("CREATE EXTENSION IF NOT EXISTS citus")
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            if self.bin.has_extension("pgstattuple"):
                conn.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")

    def ensure_monitor_user(self, password: str) -> None:
        """The least-privilege monitor role: pg_monitor, and SELECT on what the lab's owner
        makes (the seed tables, the heartbeat table) as it makes it. On the primary; the
        standbys get it by replication."""
        from psycopg import sql as pgsql

        with self.connect(LAB_DATABASE) as conn:
            if not conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (MONITOR_USER,)
            ).fetchone():
                conn.execute(
                    pgsql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                        pgsql.Identifier(MONITOR_USER), pgsql.Literal(password)
                    )
                )
            user = pgsql.Identifier(MONITOR_USER)
            owner = pgsql.Identifier(LAB_USER)
            conn.execute(pgsql.SQL("GRANT pg_monitor TO {}").format(user))
            # The README's per-schema grants, for every schema the lab's owner makes.
            conn.execute(
                pgsql.SQL(
                    "ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT USAGE ON SCHEMAS TO {}"
                ).format(owner, user)
            )
            conn.execute(
                pgsql.SQL(
                    "ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT SELECT ON TABLES TO {}"
                ).format(owner, user)
            )
            existing = conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspowner = %s::regrole",
                (LAB_USER,),
            ).fetchall()
            for (schema,) in existing:
                name = pgsql.Identifier(schema)
                conn.execute(pgsql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(name, user))
                conn.execute(
                    pgsql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(name, user)
                )

    def stop(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        # SIGINT is PostgreSQL's fast shutdown: clients are cut, data is flushed.
        return stop_process(pid, str(self.datadir), signal.SIGINT)
