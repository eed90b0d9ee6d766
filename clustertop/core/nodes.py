"""What a node is and how to reach it; shared by collectors, actions and the lab."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

Engine = Literal["mysql", "mariadb", "postgres", "citus"]
ENGINES: tuple[Engine, ...] = ("mysql", "mariadb", "postgres", "citus")
MYSQL_FAMILY = frozenset({"mysql", "mariadb"})
POSTGRES_FAMILY = frozenset({"postgres", "citus"})


class Secret:
    """A password that never prints: repr, str and format all show a mask."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class NodeSpec:
    """One database server as the operator described it (the role is a hint only)."""

    cluster: str
    name: str
    engine: Engine
    host: str
    port: int
    user: str | None = None
    database: str | None = None
    role_hint: str | None = None
    password_env: str | None = None
    option_file: str | None = None  # MySQL client option file, e.g. ~/.my.cnf
    passfile: str | None = None  # libpq password file, e.g. ~/.pgpass
    service: str | None = None  # libpq service name
    password: Secret | None = field(default=None, compare=False)  # only from a --dsn
    # TLS, passed to the driver as given: libpq's sslmode/sslrootcert for PostgreSQL; the CA
    # file and whether to verify the server's certificate (and name) for MySQL.
    sslmode: str | None = None
    sslrootcert: str | None = None
    ssl_ca: str | None = None
    ssl_verify_cert: bool | None = None

    @property
    def family(self) -> Literal["mysql", "postgres"]:
        return "mysql" if self.engine in MYSQL_FAMILY else "postgres"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def key(self) -> str:
        return f"{self.cluster}/{self.name}"

    def resolve_password(self) -> str | None:
        """The password to send, read at connect time so it is never stored in a sample."""
        if self.password is not None:
            return self.password.reveal()
        if self.password_env:
            return os.environ.get(self.password_env)
        return None
