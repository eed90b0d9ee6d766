"""Finding the server programs the lab needs, with a one-line answer when one is missing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from clustertop.core.errors import EnvironmentProblem

_SBIN = "/usr/sbin:/usr/local/sbin:/usr/bin:/usr/local/bin"


def _which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path=_SBIN)


@dataclass(frozen=True)
class MySQLBinaries:
    server: str
    install_db: str | None  # mariadb-install-db; None for MySQL, which initialises itself
    flavour: str  # "mariadb" or "mysql"
    version: str


@dataclass(frozen=True)
class PostgresBinaries:
    bindir: Path
    sharedir: Path
    version: str

    def tool(self, name: str) -> str:
        return str(self.bindir / name)

    def has_extension(self, name: str) -> bool:
        return (self.sharedir / "extension" / f"{name}.control").is_file()

    def setting_default(self, name: str) -> str | None:
        """The server's default of a setting, None when this server has no such setting (a
        setting it does not know in postgresql.conf would stop it from starting)."""
        out = subprocess.run(
            [self.tool("postgres"), "--describe-config"],
            capture_output=True, text=True, check=False,
        ).stdout
        for line in out.splitlines():
            fields = line.split("\t")
            if fields and fields[0] == name:
                return fields[4] if len(fields) > 4 else ""
        return None


def find_mysql() -> MySQLBinaries:
    server = _which("mariadbd")
    if server:
        install_db = _which("mariadb-install-db") or _which("mysql_install_db")
        if not install_db:
            raise EnvironmentProblem(
                "mariadb: mariadb-install-db not found (install mariadb-server)"
            )
        return MySQLBinaries(server, install_db, "mariadb", _version(server))
    server = _which("mysqld")
    if not server:
        raise EnvironmentProblem(
            "mariadb: no mariadbd or mysqld found (install mariadb-server, or MySQL)"
        )
    version = _version(server)
    if "mariadb" in version.lower():
        install_db = _which("mysql_install_db")
        return MySQLBinaries(server, install_db, "mariadb", version)
    return MySQLBinaries(server, None, "mysql", version)


def find_postgres() -> PostgresBinaries:
    candidates: list[Path] = []
    if env := os.environ.get("CLUSTERTOP_PG_BINDIR"):
        candidates.append(Path(env))
    for pg_config in filter(None, [_which("pg_config")]):
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=False
            ).stdout.strip()
        except OSError:
            out = ""
        if out:
            candidates.append(Path(out))
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(versions)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            pg_config_path = bindir / "pg_config"
            sharedir = _sharedir(bindir, pg_config_path)
            return PostgresBinaries(bindir, sharedir, _version(str(bindir / "postgres")))
    raise EnvironmentProblem(
        "postgres: no initdb/pg_ctl found (install postgresql, or set CLUSTERTOP_PG_BINDIR)"
    )


def _sharedir(bindir: Path, pg_config: Path) -> Path:
    if pg_config.is_file():
        out = subprocess.run(
            [str(pg_config), "--sharedir"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
        if out:
            return Path(out)
    major = bindir.parent.name
    return Path(f"/usr/share/postgresql/{major}")


def _version(binary: str) -> str:
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except OSError:
        return "unknown"
    match = re.search(r"\d+\.\d+(\.\d+)?(-MariaDB)?", out)
    return (match.group(0) if match else out.strip()) + (" MariaDB" if "MariaDB" in out else "")
