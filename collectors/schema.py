"""What a table is, as a before/after validation needs it: rows (exact up to a size, else the
estimate, marked), a checksum of the rows (up to a size), columns with types, indexes,
constraints, partitions and bytes. `clustertop snapshot` writes these; `clustertop diff`
compares them, with the checksum read over the snapshot's own columns so that an added column
does not count as changed rows."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from clustertop.collectors.connect import connect_mysql, connect_postgres
from clustertop.collectors.errors import close_quietly
from clustertop.collectors.heartbeat import split_table
from clustertop.collectors.sql import mysql as my_sql
from clustertop.collectors.sql import postgres as pg_sql
from clustertop.core.errors import InputError
from clustertop.core.nodes import NodeSpec

EXACT_BELOW = 1_000_000  # rows: counted exactly up to here (by the estimate), else estimated
CHECKSUM_BELOW = 1_000_000  # rows: checksummed up to here


@dataclass(frozen=True)
class TableSnapshot:
    table: str
    rows: int
    rows_estimated: bool
    checksum: str | None  # None: not taken (the table is over CHECKSUM_BELOW rows)
    checksum_columns: tuple[str, ...]
    columns: tuple[tuple[str, str, str, str | None], ...]  # name, type, nullable, default
    indexes: tuple[tuple[str, bool, str], ...]  # name, unique, columns / definition
    constraints: tuple[tuple[str, str], ...]  # name, type / definition
    partitions: tuple[tuple[str, str | None], ...]  # name, bound
    bytes: int | None
    note: str = ""  # why a figure was not taken

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str) -> TableSnapshot:
        try:
            return cls(
                table=str(data["table"]),
                rows=int(data["rows"]),
                rows_estimated=bool(data["rows_estimated"]),
                checksum=data["checksum"],
                checksum_columns=tuple(data["checksum_columns"]),
                columns=tuple(tuple(c) for c in data["columns"]),  # type: ignore[misc]
                indexes=tuple((str(i[0]), bool(i[1]), str(i[2])) for i in data["indexes"]),
                constraints=tuple((str(c[0]), str(c[1])) for c in data["constraints"]),
                partitions=tuple((str(p[0]), p[1]) for p in data["partitions"]),
                bytes=data["bytes"],
                note=str(data.get("note", "")),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise InputError(where, type(exc).__name__, "is not a table snapshot of"
                             " `clustertop snapshot`") from None


@dataclass
class SnapshotReader:
    """Reads table snapshots on one node (the primary), one connection for all of them."""

    node: NodeSpec
    exact_below: int = EXACT_BELOW
    checksum_below: int = CHECKSUM_BELOW
    connect_timeout: float = 5.0
    _conn: Any = field(default=None, repr=False)

    def __enter__(self) -> SnapshotReader:
        if self.node.family == "mysql":
            self._conn = connect_mysql(self.node, connect_timeout=self.connect_timeout,
                                       program="clustertop-snapshot")
        else:
            self._conn = connect_postgres(self.node, connect_timeout=self.connect_timeout,
                                          program="clustertop-snapshot")
        return self

    def __exit__(self, *exc: object) -> None:
        close_quietly(self._conn)

    def _rows(self, statement: str, args: tuple[Any, ...] = ()) -> list[Any]:
        if self.node.family == "mysql":
            with self._conn.cursor() as cur:
                cur.execute(statement, args or None)
                return list(cur.fetchall())
        result = self._conn.execute(statement, args or None)
        return list(result.fetchall()) if result.description else []

    def read(self, name: str, checksum_columns: tuple[str, ...] | None = None) -> TableSnapshot:
        default_schema = self.node.database or ("public" if self.node.family == "postgres"
                                                else "")
        schema, table = split_table(name, default_schema)
        sql = my_sql if self.node.family == "mysql" else pg_sql
        found = self._rows(sql.SNAP_TABLE, (schema, table))
        if not found:
            raise InputError("--tables", name, f"no such table on {self.node.name}")
        estimate, size = found[0]
        columns = tuple((str(r[0]), str(r[1]), str(r[2]), None if r[3] is None else str(r[3]))
                        for r in self._rows(sql.SNAP_COLUMNS, (schema, table)))
        indexes = tuple((str(r[0]), not bool(int(r[1])), str(r[2]))
                        for r in self._rows(sql.SNAP_INDEXES, (schema, table)))
        constraints = tuple((str(r[0]), str(r[1]))
                            for r in self._rows(sql.SNAP_CONSTRAINTS, (schema, table)))
        partitions = tuple((str(r[0]), None if r[1] is None else str(r[1]))
                           for r in self._rows(sql.SNAP_PARTITIONS, (schema, table)))
        names = [c[0] for c in columns]
        wanted = tuple(c for c in (checksum_columns or names) if c in names)
        estimate = max(0, int(estimate or 0))
        notes = []
        if estimate <= self.exact_below:
            rows, estimated = self._count(sql, schema, table), False
        else:
            rows, estimated = estimate, True
            notes.append(f"rows estimated: about {estimate} > {self.exact_below}")
        checksum = None
        if rows <= self.checksum_below and wanted:
            rows, checksum = self._checksum(sql, schema, table, wanted, indexes, constraints)
            estimated = False
        elif wanted:
            notes.append(f"no checksum: {rows} rows > {self.checksum_below}")
        return TableSnapshot(f"{schema}.{table}", rows, estimated, checksum, wanted, columns,
                             indexes, constraints, partitions,
                             None if size is None else int(size), "; ".join(notes))

    def _count(self, sql: Any, schema: str, table: str) -> int:
        return int(self._rows(sql.SNAP_COUNT.format(schema=schema, table=table))[0][0])

    def _checksum(self, sql: Any, schema: str, table: str, columns: tuple[str, ...],
                  indexes: tuple[tuple[str, bool, str], ...],
                  constraints: tuple[tuple[str, str], ...]) -> tuple[int, str]:
        if self.node.family == "mysql":
            listed = ", ".join(f"`{c.replace('`', '``')}`" for c in columns)
            marks = ", ".join(f"ISNULL(`{c.replace('`', '``')}`)" for c in columns)
            statement = sql.SNAP_CHECKSUM.format(columns=f"{listed}, CONCAT({marks})",
                                                 schema=schema, table=table)
        else:
            quoted = [f'"{c.replace(chr(34), chr(34) * 2)}"' for c in columns]
            key = _primary_key(constraints) or quoted
            statement = sql.SNAP_CHECKSUM.format(columns=", ".join(quoted),
                                                 order=", ".join(key), schema=schema,
                                                 table=table)
        count, checksum = self._rows(statement)[0]
        return int(count), str(checksum)


def _primary_key(constraints: tuple[tuple[str, str], ...]) -> list[str]:
    """The key columns of a PostgreSQL `p PRIMARY KEY (a, b)` definition, quoted."""
    for _name, definition in constraints:
        if definition.startswith("p PRIMARY KEY (") and definition.endswith(")"):
            inner = definition[len("p PRIMARY KEY ("):-1]
            return [part.strip() if part.strip().startswith('"') else f'"{part.strip()}"'
                    for part in inner.split(",")]
    return []
