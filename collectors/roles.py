"""Which node is the primary: detected from the server, never trusted from the config alone."""

from __future__ import annotations

import contextlib
from typing import Any

from clustertop.collectors.connect import ConnectError
from clustertop.collectors.engines import adapter_for
from clustertop.collectors.errors import MissingPrivilege
from clustertop.core.nodes import NodeSpec

WRITABLE_ROLES = ("primary", "coordinator")


def detect_role(spec: NodeSpec, conn: Any) -> str:
    """primary / replica for MySQL; primary / standby / coordinator / worker for PostgreSQL.

    A change needs the role for certain: a grant missing to read it is an error here."""
    status = adapter_for(spec).collector().read(conn).status
    if status.role == "unknown":
        raise MissingPrivilege(
            "cannot tell primary from replica: "
            + "; ".join(n for n in status.unknown if "role" in n)
        )
    return status.role


def find_writable(nodes: tuple[NodeSpec, ...], timeout: float = 3.0) -> NodeSpec:
    """The node writes go to: a primary (or Citus coordinator), as detected on the server."""
    errors = []
    for spec in sorted(nodes, key=lambda n: n.role_hint not in WRITABLE_ROLES):
        try:
            conn: Any = adapter_for(spec).connect(spec, connect_timeout=timeout)
        except ConnectError as exc:
            errors.append(f"{spec.name}: {exc}")
            continue
        with contextlib.closing(conn):
            try:
                role = detect_role(spec, conn)
            except MissingPrivilege as exc:
                raise MissingPrivilege(f"{spec.name} ({spec.address}): {exc}") from None
            if role in WRITABLE_ROLES:
                return spec
    detail = "; ".join(errors) if errors else "every node is a replica or standby"
    raise ConnectError(f"no writable primary found ({detail})")
