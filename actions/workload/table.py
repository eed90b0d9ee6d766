"""What a workload knows of its table, read from information_schema, and the statements and
values it makes from that: SELECT by key, INSERT typed to the columns, UPDATE of a random
column, DELETE of rows it inserted itself (so no foreign key can object), time range reads."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from clustertop.actions.sql import postgres as pg_sql
from clustertop.actions.sql import statements_for
from clustertop.collectors.engines import adapter_for, family_adapter
from clustertop.collectors.errors import close_quietly
from clustertop.core.config import validate_table_name
from clustertop.core.errors import InputError
from clustertop.core.nodes import NodeSpec

INTEGER_TYPES = {
    "tinyint": 127,
    "smallint": 32_000,
    "mediumint": 8_000_000,
    "int": 2_000_000_000,
    "integer": 2_000_000_000,
    "bigint": 9_000_000_000_000,
}
TEXT_TYPES = {
    "char",
    "varchar",
    "character varying",
    "character",
    "text",
    "tinytext",
    "mediumtext",
    "longtext",
}
TIME_TYPES = {
    "datetime",
    "timestamp",
    "timestamp without time zone",
    "timestamp with time zone",
    "date",
}
DECIMAL_TYPES = {"decimal", "numeric"}
FLOAT_TYPES = {"float", "double", "real", "double precision"}
BOOL_TYPES = {"boolean", "bool"}


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    nullable: bool
    generated: bool  # auto_increment / identity / serial
    max_length: int | None
    precision: int | None
    scale: int | None
    primary: bool

    def random_value(self, rng: random.Random, now: datetime) -> Any:
        t = self.data_type.lower()
        if t in INTEGER_TYPES:
            return rng.randint(0, min(INTEGER_TYPES[t], 1_000_000))
        if t in TEXT_TYPES:
            length = min(self.max_length or 32, 32)
            return f"{rng.getrandbits(128):032x}"[:length]
        if t in TIME_TYPES:
            return now if t != "date" else now.date()
        if t in DECIMAL_TYPES:
            digits = max(1, (self.precision or 10) - (self.scale or 0))
            whole = rng.randint(0, 10 ** min(digits, 6) - 1)
            return (
                Decimal(f"{whole}.{rng.randint(0, 99):02d}")
                if (self.scale or 0) >= 2
                else Decimal(whole)
            )
        if t in FLOAT_TYPES:
            return rng.random() * 1000
        if t in BOOL_TYPES:
            return rng.random() < 0.5
        if t == "uuid":
            return str(uuid.UUID(int=rng.getrandbits(128)))
        if t in ("json", "jsonb"):
            return "{}"
        if self.nullable:
            return None
        raise InputError("--table", self.name, f"column type {self.data_type!r} is not supported")


@dataclass(frozen=True)
class TableShape:
    family: str
    schema: str
    table: str
    columns: tuple[Column, ...]
    key: Column
    key_min: int
    key_max: int
    time_column: Column | None

    def quote(self, name: str) -> str:
        return family_adapter(self.family).quote(name)

    @property
    def qualified(self) -> str:
        return f"{self.quote(self.schema)}.{self.quote(self.table)}"

    @property
    def insertable(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if not c.generated)

    @property
    def updatable(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if not c.primary and not c.generated)

    # -- statements -------------------------------------------------------------------------------

    def select_sql(self) -> str:
        return f"SELECT * FROM {self.qualified} WHERE {self.quote(self.key.name)} = %s"

    def insert_sql(self) -> str:
        names = ", ".join(self.quote(c.name) for c in self.insertable)
        marks = ", ".join("%s" for _ in self.insertable)
        returning = "" if self.family == "mysql" else f" RETURNING {self.quote(self.key.name)}"
        return f"INSERT INTO {self.qualified} ({names}) VALUES ({marks}){returning}"

    def update_sql(self, column: Column) -> str:
        return (
            f"UPDATE {self.qualified} SET {self.quote(column.name)} = %s "
            f"WHERE {self.quote(self.key.name)} = %s"
        )

    def delete_sql(self) -> str:
        return f"DELETE FROM {self.qualified} WHERE {self.quote(self.key.name)} = %s"

    def range_sql(self) -> str:
        assert self.time_column is not None
        t = self.quote(self.time_column.name)
        return f"SELECT * FROM {self.qualified} WHERE {t} >= %s ORDER BY {t} LIMIT 100"

    def insert_values(self, rng: random.Random, now: datetime, next_key: int | None) -> list[Any]:
        values = []
        for column in self.insertable:
            if column.primary and column is self.key and next_key is not None:
                values.append(next_key)
            else:
                values.append(column.random_value(rng, now))
        return values


def describe_table(conn: Any, family: str, name: str, default_schema: str | None) -> TableShape:
    """Columns, key and key range of `name`; a missing table or key is the operator's to fix."""
    validate_table_name("--table", name)
    schema, _, table = name.rpartition(".")
    if not schema:
        # Unqualified, a name means what it means to the server: the connection's database on
        # MySQL, the first schema of the search_path that has it on PostgreSQL.
        if family == "mysql":
            schema = default_schema or ""
        else:
            found = _fetch(conn, family, pg_sql.RESOLVE_TABLE, (table,))
            schema = str(found[0][0]) if found and found[0][0] else "public"
    sql = statements_for(family)
    rows = _fetch(conn, family, sql.TABLE_COLUMNS, (schema, table))
    if not rows:
        raise InputError("--table", name, "no such table")
    columns = tuple(
        Column(str(r[0]), str(r[1]), bool(r[2]), bool(r[3]), r[4], r[5], r[6], bool(r[7]))
        for r in rows
    )
    keys = [c for c in columns if c.primary]
    if not keys:
        raise InputError("--table", name, "has no primary key: a workload addresses rows by key")
    key = keys[0]
    if key.data_type.lower() not in INTEGER_TYPES:
        raise InputError(
            "--table", name, f"primary key {key.name} is {key.data_type}, not an integer"
        )
    low, high = _fetch(
        conn, family, sql.KEY_RANGE.format(schema=schema, table=table, key=key.name), None
    )[0]
    time_column = next((c for c in columns if c.data_type.lower() in TIME_TYPES - {"date"}), None)
    return TableShape(
        family, schema, table, columns, key, int(low or 1), int(high or 0), time_column
    )


def check_table(node: NodeSpec, table: str) -> TableShape:
    """A missing table or key is bad input: said before any connection of the run opens."""
    conn = adapter_for(node).connect(node, connect_timeout=5)
    try:
        return describe_table(conn, node.family, table, node.database)
    finally:
        close_quietly(conn)


def _fetch(conn: Any, family: str, statement: str, args: Any) -> list[Any]:
    if family == "mysql":
        with conn.cursor() as cur:
            cur.execute(statement, args)
            return list(cur.fetchall())
    return list(conn.execute(statement, args).fetchall())


def utc_now() -> datetime:
    return datetime.now(UTC)


def naive_utc(moment: datetime) -> datetime:
    """MySQL DATETIME has no zone; clustertop's sessions run in UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None)


RANGE_LOOKBACK = timedelta(hours=1)
