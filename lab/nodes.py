"""A lab node as recorded in the lab's state file."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass
class LabNode:
    cluster: str  # lab-mariadb, lab-postgres, lab-citus
    name: str  # primary, replica1, standby1, coordinator, worker1
    engine: str  # mariadb, mysql, postgres, citus
    role: str  # primary, replica, standby, coordinator, worker
    port: int
    datadir: str
    server_id: int
    source: str | None = None  # the node this one replicates from
    tls: bool = False  # accepts TLS connections only, with the lab CA's certificate
    preload: str = ""  # PostgreSQL: extensions loaded at start besides the usual (timescaledb)

    @property
    def path(self) -> Path:
        return Path(self.datadir)

    @property
    def family(self) -> str:
        return "postgres" if self.engine in ("postgres", "citus") else "mysql"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LabNode:
        return cls(**data)
