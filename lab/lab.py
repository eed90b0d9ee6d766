"""The lab as a whole: `up`, `down` and `status` over a directory the lab owns (its Citus part:
citus.py; what status reads of a node: status.py)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from clustertop.core.errors import EnvironmentProblem, InputError
from clustertop.lab import citus, timescale
from clustertop.lab.binaries import find_mysql, find_postgres
from clustertop.lab.citus import CITUS_CLUSTER
from clustertop.lab.mysql_server import LAB_USER as MYSQL_LAB_USER
from clustertop.lab.mysql_server import MONITOR_USER, MySQLServer
from clustertop.lab.nodes import LabNode
from clustertop.lab.postgres_server import LAB_DATABASE, LAB_USER, PostgresServer
from clustertop.lab.processes import POSTGRES_OS_USER, chown_for_server, free_port, running_as_root
from clustertop.lab.status import NodeStatus, node_status
from clustertop.lab.tls import TlsFiles, lab_certificates

LAB_ENGINES = ("mariadb", "postgres", "citus", "tls", "timescaledb")
CLUSTER_NAMES = {"mariadb": "lab-mariadb", "postgres": "lab-postgres", "citus": CITUS_CLUSTER}
# `tls`: one MariaDB and one PostgreSQL node that take TLS connections only.
TLS_CLUSTERS = {"mariadb": "lab-tls-mariadb", "postgres": "lab-tls-postgres"}
WATCHED_TABLES = (
    "cleanup_bench.cleanup_partitioned",
    "cleanup_bench.cleanup_batch",
    "cleanup_bench.cleanup_copy",
    "cleanup_bench.cleanup_truncate",
)
Progress = Callable[[str], None]


def default_lab_dir() -> Path:
    """$CLUSTERTOP_LAB_DIR, else a state dir; as root one the postgres user can traverse."""
    if env := os.environ.get("CLUSTERTOP_LAB_DIR"):
        return Path(env).expanduser()
    if running_as_root():
        return Path("/var/lib/clustertop/lab")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "clustertop" / "lab"


class Lab:
    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root).expanduser().resolve() if root else default_lab_dir().resolve()

    # -- files ------------------------------------------------------------------------------

    @property
    def state_file(self) -> Path:
        return self.root / "lab.json"

    @property
    def config_path(self) -> Path:
        return self.root / "clustertop.toml"

    @property
    def client_dir(self) -> Path:
        return self.root / "client"

    @property
    def my_cnf(self) -> Path:
        return self.client_dir / "my.cnf"

    @property
    def pgpass(self) -> Path:
        return self.client_dir / "pgpass"

    def nodes(self) -> list[LabNode]:
        try:
            data = json.loads(self.state_file.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise EnvironmentProblem(f"lab state {self.state_file} unreadable: {exc}") from None
        return [LabNode.from_json(item) for item in data.get("nodes", [])]

    def _save(self, nodes: Sequence[LabNode]) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"nodes": [n.to_json() for n in nodes]}, indent=2))
        tmp.replace(self.state_file)

    def _password(self) -> str:
        """One random password per lab, kept in 0600 client files, never in the config."""
        path = self.client_dir / "password"
        if path.is_file():
            return path.read_text().strip()
        password = secrets.token_urlsafe(18)
        path.write_text(password + "\n")
        path.chmod(0o600)
        return password

    def _prepare_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.client_dir.mkdir(exist_ok=True)
        if running_as_root():
            # The postgres user must reach its data dirs and the passfile below the root.
            for path in (self.root, self.client_dir):
                path.chmod(0o755)
            blocked = [p for p in self.root.parents if not p.stat().st_mode & stat.S_IXOTH]
            if blocked:
                raise EnvironmentProblem(
                    f"lab dir {self.root}: {blocked[0]} is not reachable by the "
                    f"{POSTGRES_OS_USER} user; use --dir under /var/tmp or /var/lib"
                )

    def _write_client_files(self, password: str) -> None:
        self.my_cnf.write_text(f"[client]\nuser={MYSQL_LAB_USER}\npassword={password}\n")
        self.my_cnf.chmod(0o600)
        self.monitor_my_cnf.write_text(f"[client]\nuser={MONITOR_USER}\npassword={password}\n")
        self.monitor_my_cnf.chmod(0o600)
        self.pgpass.write_text(
            "".join(
                f"{host}:*:*:{user}:{password}\n"
                for user in (LAB_USER, MONITOR_USER)
                for host in ("127.0.0.1", "localhost")
            )
        )
        self.pgpass.chmod(0o600)
        chown_for_server(self.pgpass, "postgres")

    # -- up ---------------------------------------------------------------------------------

    def up(
        self,
        engines: Sequence[str] = ("mariadb", "postgres"),
        replicas: int = 1,
        progress: Progress = lambda _msg: None,
    ) -> list[str]:
        """Start (or reuse) every node; returns notes such as a skipped Citus."""
        for engine in engines:
            if engine not in LAB_ENGINES:
                raise InputError("--engines", engine, f"must be among {', '.join(LAB_ENGINES)}")
        if not 0 <= replicas <= 5:
            raise InputError("--replicas", replicas, "must be from 0 to 5")
        self._prepare_root()
        password = self._password()
        self._write_client_files(password)
        known = {(n.cluster, n.name): n for n in self.nodes()}
        taken = {n.port for n in known.values()}
        notes: list[str] = []
        started: list[MySQLServer | PostgresServer] = []
        created: list[Path] = []
        wanted: list[LabNode] = list(known.values())

        def node_for(
            cluster: str, name: str, engine: str, role: str, sid: int, src: str | None
        ) -> tuple[LabNode, bool]:
            existing = known.get((cluster, name))
            if existing:
                return existing, False
            datadir = self.root / cluster / name
            node = LabNode(cluster, name, engine, role, free_port(taken), str(datadir), sid, src)
            wanted.append(node)
            return node, True

        try:
            if "mariadb" in engines:
                self._up_mysql(replicas, password, node_for, started, created, progress)
            if "postgres" in engines:
                self._up_postgres(replicas, node_for, started, created, progress)
            if "tls" in engines:
                self._up_tls(password, node_for, started, created, progress)
            if "citus" in engines:
                note = citus.up(self, node_for, started, created, progress)
                if note:
                    notes.append(note)
            seed_timescale = False
            if "timescaledb" in engines:
                note, seed_timescale = timescale.up(self, node_for, started, created, progress)
                if note:
                    notes.append(note)
        except BaseException:
            for server in reversed(started):
                server.stop()
            for path in created:
                shutil.rmtree(path, ignore_errors=True)
            created_set = {str(p) for p in created}
            self._save([n for n in wanted if n.datadir not in created_set])
            raise
        self._save(wanted)
        self.write_config(wanted)
        if seed_timescale:
            timescale.seed(self, progress)
        return notes

    def _up_mysql(
        self,
        replicas: int,
        password: str,
        node_for: Any,
        started: list[Any],
        created: list[Path],
        progress: Progress,
    ) -> None:
        binaries = find_mysql()
        engine = binaries.flavour
        cluster = CLUSTER_NAMES["mariadb"]
        primary, _ = node_for(cluster, "primary", engine, "primary", 1, None)
        servers = [MySQLServer(primary, binaries)]
        for i in range(1, replicas + 1):
            node, _ = node_for(cluster, f"replica{i}", engine, "replica", 1 + i, "primary")
            servers.append(MySQLServer(node, binaries))
        for server in servers:
            fresh = not server.initialised
            if fresh:
                progress(f"{cluster}/{server.node.name}: initialising {engine}")
                created.append(server.datadir)
                server.initialise()
            if not server.running():
                progress(f"{cluster}/{server.node.name}: starting on port {server.node.port}")
                server.start()
                started.append(server)
            if fresh:
                server.bootstrap(password)
                if server.node.role == "replica":
                    server.replicate_from(primary.port, password)
            server.ensure_monitor_user(password)

    def _up_postgres(
        self,
        replicas: int,
        node_for: Any,
        started: list[Any],
        created: list[Path],
        progress: Progress,
    ) -> None:
        binaries = find_postgres()
        cluster = CLUSTER_NAMES["postgres"]
        primary, _ = node_for(cluster, "primary", "postgres", "primary", 1, None)
        server = PostgresServer(primary, binaries, self.pgpass)
        self._start_pg(server, started, created, progress, clone_from=None)
        for i in range(1, replicas + 1):
            node, _ = node_for(cluster, f"standby{i}", "postgres", "standby", 1 + i, "primary")
            self._start_pg(
                PostgresServer(node, binaries, self.pgpass),
                started,
                created,
                progress,
                clone_from=primary.port,
            )

    @property
    def tls_files(self) -> TlsFiles:
        return lab_certificates(self.root / "tls")

    def _up_tls(
        self,
        password: str,
        node_for: Any,
        started: list[Any],
        created: list[Path],
        progress: Progress,
    ) -> None:
        """A standalone MariaDB and PostgreSQL primary each refusing anything but TLS."""
        files = self.tls_files
        binaries = find_mysql()
        node, _ = node_for(TLS_CLUSTERS["mariadb"], "primary", binaries.flavour, "primary", 1, None)
        node.tls = True
        server = MySQLServer(node, binaries, files)
        fresh = not server.initialised
        if fresh:
            progress(f"{node.cluster}/{node.name}: initialising {binaries.flavour} (TLS only)")
            created.append(server.datadir)
            server.initialise()
        if not server.running():
            server.start()
            started.append(server)
        if fresh:
            server.bootstrap(password)
        server.ensure_monitor_user(password)
        pg_node, _ = node_for(TLS_CLUSTERS["postgres"], "primary", "postgres", "primary", 1, None)
        pg_node.tls = True
        self._start_pg(
            PostgresServer(pg_node, find_postgres(), self.pgpass, files),
            started,
            created,
            progress,
            clone_from=None,
        )

    def _start_pg(
        self,
        server: PostgresServer,
        started: list[Any],
        created: list[Path],
        progress: Progress,
        clone_from: int | None,
    ) -> None:
        name = f"{server.node.cluster}/{server.node.name}"
        fresh = not server.initialised
        if fresh:
            created.append(server.datadir)
            if clone_from is None:
                progress(f"{name}: initdb")
                server.initialise(self._password())
            else:
                progress(f"{name}: pg_basebackup from port {clone_from}")
                server.clone_from(clone_from)
        if not server.running():
            progress(f"{name}: starting on port {server.node.port}")
            server.start()
            started.append(server)
        if fresh and clone_from is None:
            server.bootstrap()
        if clone_from is None and server.node.engine == "postgres":
            server.ensure_monitor_user(self._password())

    def add_citus_worker(self, progress: Progress = lambda _msg: None) -> LabNode:
        """One more empty worker for lab-citus: the imbalance a rebalance then evens out."""
        return citus.add_worker(self, progress)

    # -- config -----------------------------------------------------------------------------

    def write_config(self, nodes: Sequence[LabNode] | None = None) -> Path:
        """The lab's config (its owner's user, actions on) and, beside it, monitor.toml: the
        same clusters watched read-only by the least-privilege monitor user."""
        nodes = list(nodes if nodes is not None else self.nodes())
        header = [
            "# Written by `clustertop lab up`: the lab's own clusters. Passwords live in the",
            "# client files under client/ (0600), never here. The lab is a sandbox: actions on.",
            "",
        ]
        monitor_header = [
            "# Written by `clustertop lab up`: the lab watched read-only by clustertop_monitor,",
            "# a user holding only the grants `clustertop grants --for monitor` lists.",
            "read_only = true",
            "",
        ]
        self._write_atomically(self.config_path, header + self._cluster_lines(nodes, False))
        self._write_atomically(
            self.monitor_config_path, monitor_header + self._cluster_lines(nodes, True)
        )
        return self.config_path

    @property
    def monitor_config_path(self) -> Path:
        return self.root / "monitor.toml"

    @property
    def monitor_my_cnf(self) -> Path:
        return self.client_dir / "monitor.my.cnf"

    @staticmethod
    def _write_atomically(path: Path, lines: list[str]) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text("\n".join(lines))
        tmp.replace(path)

    def _cluster_lines(self, nodes: Sequence[LabNode], monitor: bool) -> list[str]:
        lines: list[str] = []
        clusters: dict[str, list[LabNode]] = {}
        for node in nodes:
            clusters.setdefault(node.cluster, []).append(node)
        watched = ", ".join(f'"{t}"' for t in WATCHED_TABLES)
        for cluster, members in clusters.items():
            engine = members[0].engine
            if monitor and engine == "citus":
                continue  # the Citus lab keeps its owner's user
            lines += [
                f"[clusters.{cluster}]",
                f'engine = "{engine}"',
                "poll_interval = 1.0",
                f"actions = {'false' if monitor else 'true'}",
            ]
            if engine != "citus":
                tables = watched
                if any("timescaledb" in n.preload for n in members):
                    tables += f', "cleanup_bench.{timescale.HYPERTABLE_NAME}"'
                lines.append(f"watched_tables = [{tables}]")
                if any("timescaledb" in n.preload for n in members):
                    # The Apache build's own log retention job fails on every run (a license
                    # error): known, so shown but not warned about.
                    lines.append('silenced_jobs = ["Job History Log Retention Policy [3]"]')
            lines.append("")
            for node in members:
                lines += [
                    f"[[clusters.{cluster}.nodes]]",
                    f'name = "{node.name}"',
                    'host = "127.0.0.1"',
                    f"port = {node.port}",
                    f'role = "{node.role}"',
                ]
                if node.tls:
                    ca = self.root / "tls" / "ca.pem"
                    lines += (
                        [f'ssl_ca = "{ca}"', "ssl_verify_cert = true"]
                        if node.family == "mysql"
                        else ['sslmode = "verify-full"', f'sslrootcert = "{ca}"']
                    )
                if node.family == "mysql":
                    user, option_file = (
                        (MONITOR_USER, self.monitor_my_cnf) if monitor else
                        (MYSQL_LAB_USER, self.my_cnf)
                    )
                    lines += [f'user = "{user}"', f'option_file = "{option_file}"']
                else:
                    lines += [
                        f'user = "{MONITOR_USER if monitor else LAB_USER}"',
                        f'database = "{LAB_DATABASE}"',
                        f'passfile = "{self.pgpass}"',
                    ]
                lines.append("")
        return lines

    # -- down / status ----------------------------------------------------------------------

    def _server(self, node: LabNode) -> MySQLServer | PostgresServer:
        if node.family == "mysql":
            return MySQLServer(node, find_mysql())
        return PostgresServer(node, find_postgres(), self.pgpass)

    def down(self, progress: Progress = lambda _msg: None) -> list[str]:
        """Stop exactly the processes this lab started (by pid, checked against the data dir)."""
        stopped = []
        # Replicas first, so none of them logs a burst of reconnect errors.
        for node in sorted(self.nodes(), key=lambda n: n.source is None):
            server = self._server(node)
            if server.running():
                progress(f"{node.cluster}/{node.name}: stopping pid {server.pid()}")
                server.stop()
                stopped.append(f"{node.cluster}/{node.name}")
        return stopped

    def destroy(self) -> None:
        """Stop everything and remove the lab directory."""
        self.down()
        shutil.rmtree(self.root, ignore_errors=True)

    def status(self) -> list[NodeStatus]:
        password = self._password() if self.client_dir.is_dir() else ""
        return [
            node_status(node, self._running_pid(node), password, self.pgpass)
            for node in self.nodes()
        ]

    def _running_pid(self, node: LabNode) -> int | None:
        server = self._server(node)
        return server.pid() if server.running() else None

    def pids(self) -> list[int]:
        result = []
        for node in self.nodes():
            server = self._server(node)
            if server.running() and (pid := server.pid()):
                result.append(pid)
        return result
