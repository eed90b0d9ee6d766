"""Before and after a change: `snapshot` records what each watched table is (rows, checksum,
columns, indexes, constraints, partitions, bytes) and `diff` says what changed, grouped, against
another snapshot or the live cluster. `--expect` rules say what the change may do, e.g.
`rows >= before` or `indexes += idx_analytics_date_type`; one broken makes `diff` exit 1.

Expectation language, one rule each:
    [TABLE:] rows OP before[+N|-N]                        OP: < <= > >= == !=
    [TABLE:] indexes|columns|constraints|partitions += NAME  (added)   -= NAME (removed)
    [TABLE:] schema|checksum|partitions == before          (unchanged)
Without TABLE a rule holds for every table of the snapshot."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pymysql

from clustertop.collectors.connect import ConnectError
from clustertop.collectors.errors import error_text
from clustertop.collectors.roles import find_writable
from clustertop.collectors.schema import CHECKSUM_BELOW, EXACT_BELOW, SnapshotReader, TableSnapshot
from clustertop.core.config import ClusterConfig, validate_table_name
from clustertop.core.errors import MISSING, InputError, OperationFailed
from clustertop.core.units import iec

GROUPS = ("rows", "schema", "partitions", "sizes")
SIZE_NOTE_RATIO = 0.10  # an otherwise unchanged table's size is said only past this change


@dataclass(frozen=True)
class Snapshot:
    cluster: str
    engine: str
    node: str
    at: float
    tables: tuple[TableSnapshot, ...]

    def to_json(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "engine": self.engine, "node": self.node,
                "at": self.at, "tables": [t.to_json() for t in self.tables]}

    def table(self, name: str) -> TableSnapshot | None:
        return next((t for t in self.tables if t.table == name), None)


def take(cluster: ClusterConfig, tables: Sequence[str], *, exact_below: int = EXACT_BELOW,
         checksum_below: int = CHECKSUM_BELOW,
         checksum_columns: dict[str, tuple[str, ...]] | None = None) -> Snapshot:
    if not tables:
        raise InputError("--tables", MISSING, f"name the tables: {cluster.name} watches none")
    for name in tables:
        validate_table_name("--tables", name)
    node = find_writable(cluster.nodes)
    try:
        with SnapshotReader(node, exact_below, checksum_below) as reader:
            read = tuple(reader.read(t, (checksum_columns or {}).get(t)) for t in tables)
    except (psycopg.Error, pymysql.err.MySQLError, OSError, ConnectError) as exc:
        raise OperationFailed(f"snapshot of {cluster.name} on {node.name}: {error_text(exc)}"
                              ) from None
    return Snapshot(cluster.name, node.engine, node.name, time.time(), read)


def load(path: str) -> Snapshot:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("FILE", path, "no such snapshot file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError("FILE", path, f"not a snapshot: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("tables"), list):
        raise InputError("FILE", path, "is not a snapshot of `clustertop snapshot`")
    tables = tuple(TableSnapshot.from_json(t, path) for t in data["tables"])
    return Snapshot(str(data.get("cluster")), str(data.get("engine")), str(data.get("node")),
                    float(data.get("at") or 0.0), tables)


# -- what changed --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    table: str
    group: str  # rows, schema, partitions, sizes
    kind: str  # rows, checksum, columns, indexes, constraints, partitions, table, bytes
    sign: str  # + added, - removed, ~ changed
    name: str  # the column / index / ... named, or ""
    text: str


def diff(before: Snapshot, after: Snapshot) -> list[Change]:
    changes: list[Change] = []
    names = [t.table for t in before.tables] + [
        t.table for t in after.tables if before.table(t.table) is None]
    for name in names:
        old, new = before.table(name), after.table(name)
        if old is None or new is None:
            sign = "+" if old is None else "-"
            changes.append(Change(name, "schema", "table", sign, name,
                                  f"table {'added' if old is None else 'gone'}"))
            continue
        found = _rows(old, new) + _schema(old, new) + _partitions(old, new)
        changes += found
        if old.bytes is not None and new.bytes is not None and old.bytes != new.bytes:
            ratio = abs(new.bytes - old.bytes) / max(old.bytes, 1)
            if found or ratio >= SIZE_NOTE_RATIO:
                changes.append(Change(name, "sizes", "bytes", "~", "",
                                      f"{iec(old.bytes)} -> {iec(new.bytes)}"
                                      f" ({(new.bytes - old.bytes) / max(old.bytes, 1):+.0%})"))
    return changes


def _rows(old: TableSnapshot, new: TableSnapshot) -> list[Change]:
    comparable = (old.checksum is not None and new.checksum is not None
                  and old.checksum_columns == new.checksum_columns)
    estimated = " (estimated)" if old.rows_estimated or new.rows_estimated else ""
    if old.rows != new.rows:
        text = f"rows {old.rows} -> {new.rows} ({new.rows - old.rows:+d}){estimated}"
        return [Change(old.table, "rows", "rows", "~", "", text)]
    if comparable and old.checksum != new.checksum:
        return [Change(old.table, "rows", "checksum", "~", "",
                       f"same {new.rows} rows, checksum changed: rows changed in place")]
    return []


def _named(kind: str, old: Sequence[tuple[Any, ...]], new: Sequence[tuple[Any, ...]],
           table: str, group: str) -> list[Change]:
    before = {item[0]: item[1:] for item in old}
    after = {item[0]: item[1:] for item in new}
    found = []
    for name in after.keys() - before.keys():
        found.append(Change(table, group, kind, "+", name,
                            f"{kind} +{name}: {_what(kind, after[name])}"))
    for name in before.keys() - after.keys():
        found.append(Change(table, group, kind, "-", name,
                            f"{kind} -{name} (was {_what(kind, before[name])})"))
    for name in before.keys() & after.keys():
        if before[name] != after[name]:
            found.append(Change(table, group, kind, "~", name, f"{kind} ~{name}:"
                                f" {_what(kind, before[name])} -> {_what(kind, after[name])}"))
    return sorted(found, key=lambda c: (c.kind, c.name))


def _what(kind: str, values: tuple[Any, ...]) -> str:
    """A column, index, constraint or partition as an operator reads it."""
    if kind == "columns":
        kind_, nullable, default = values
        return (f"{kind_}{' NOT NULL' if nullable == 'NO' else ''}"
                f"{f' DEFAULT {default}' if default is not None else ''}")
    if kind == "indexes":
        unique, definition = values
        return f"{'UNIQUE ' if unique else ''}{definition}"
    return " ".join("" if v is None else str(v) for v in values).strip() or "-"


def _schema(old: TableSnapshot, new: TableSnapshot) -> list[Change]:
    return (_named("columns", old.columns, new.columns, old.table, "schema")
            + _named("indexes", old.indexes, new.indexes, old.table, "schema")
            + _named("constraints", old.constraints, new.constraints, old.table, "schema"))


def _partitions(old: TableSnapshot, new: TableSnapshot) -> list[Change]:
    return _named("partitions", old.partitions, new.partitions, old.table, "partitions")


def render(changes: Sequence[Change], before: Snapshot, after_label: str) -> str:
    if not changes:
        return f"no change in {len(before.tables)} table(s) since the snapshot ({after_label})"
    lines = []
    for group in GROUPS:
        inside = [c for c in changes if c.group == group]
        if inside:
            lines.append(f"{group}:")
            lines += [f"  {c.table}: {c.text}" for c in inside]
    return "\n".join(lines)


# -- expectations ----------------------------------------------------------------------------------

_EXPECT = re.compile(
    r"^\s*(?:(?P<table>[A-Za-z_][\w.]*)\s*:\s*)?(?:"
    r"(?P<rows>rows)\s*(?P<op><=|>=|==|!=|<|>)\s*before\s*(?:(?P<sign>[+-])\s*(?P<n>\d+))?"
    r"|(?P<kind>indexes|columns|constraints|partitions)\s*(?P<change>\+=|-=)\s*(?P<name>[\w.$]+)"
    r"|(?P<same>schema|checksum|partitions)\s*==\s*before"
    r")\s*$"
)


def check_expectations(rules: Sequence[str], before: Snapshot, after: Snapshot,
                       changes: Sequence[Change]) -> list[str]:
    """The rules that do not hold, each a line saying why; bad rules raise InputError."""
    broken = []
    for text in rules:
        match = _EXPECT.match(text)
        if not match:
            raise InputError("--expect", text, "must be 'rows >= before', 'indexes += NAME',"
                             " 'schema == before' and the like, optionally 'TABLE: ...'")
        wanted = match.group("table")
        tables = [t for t in before.tables
                  if wanted is None or t.table == wanted or t.table.endswith(f".{wanted}")]
        if wanted and not tables:
            raise InputError("--expect", text, f"table {wanted} is not in the snapshot")
        for old in tables:
            new = after.table(old.table)
            mine = [c for c in changes if c.table == old.table]
            why = _broken(match, old, new, mine)
            if why:
                broken.append(f"{text}: {old.table}: {why}")
    return broken


def _broken(match: re.Match[str], old: TableSnapshot, new: TableSnapshot | None,
            mine: Sequence[Change]) -> str | None:
    if new is None:
        return "the table is gone"
    if match.group("rows"):
        offset = int(match.group("n") or 0) * (-1 if match.group("sign") == "-" else 1)
        limit = old.rows + offset
        op = match.group("op")
        holds = {"<": new.rows < limit, "<=": new.rows <= limit, ">": new.rows > limit,
                 ">=": new.rows >= limit, "==": new.rows == limit, "!=": new.rows != limit}[op]
        return None if holds else f"{new.rows} rows after, {old.rows} before"
    kind = match.group("kind")
    if kind:
        sign = "+" if match.group("change") == "+=" else "-"
        name = match.group("name")
        if any(c.kind == kind and c.sign == sign and c.name == name for c in mine):
            return None
        return f"{kind} {name} was not {'added' if sign == '+' else 'removed'}"
    same = match.group("same")
    groups = {"schema": ("schema",), "partitions": ("partitions",), "checksum": ("rows",)}[same]
    changed = [c.text for c in mine if c.group in groups]
    return f"changed: {'; '.join(changed)}" if changed else None
