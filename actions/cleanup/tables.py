"""One table to clean, on one engine: every statement a cleanup sends, behind the same methods
for MySQL/MariaDB (mysql_table.py) and PostgreSQL (postgres_table.py), so the methods themselves
are written once (job.py).

Every step that removes rows counts them under the lock that removes them, so the numbers a
run reports are the server's, not an estimate."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from clustertop.actions.sql import statements_for
from clustertop.actions.workload.table import TIME_TYPES, TableShape, describe_table
from clustertop.collectors.engines import adapter_for
from clustertop.collectors.errors import close_quietly, is_lock_conflict
from clustertop.core.errors import InputError
from clustertop.core.nodes import NodeSpec

if TYPE_CHECKING:
    from clustertop.actions.cleanup.mysql_table import MySQLCleanupTable
    from clustertop.actions.cleanup.postgres_table import PostgresCleanupTable

# Statements that rewrite a table may run long; lock waits are bounded separately (lock_wait_s).
LONG_STATEMENT_S = 3600.0
COPY_PREFIX = "ct_copy_"
LOCK_RETRIES = 5
PURGED_HISTORY = 2  # undo logs left (a heartbeat write may be one): purge has caught up
T = TypeVar("T")




def render(statement: str, args: Sequence[Any] = ()) -> str:
    """A statement with its parameters written in, as the dry run prints it."""

    def literal(value: Any) -> str:
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, datetime):
            return f"'{value.isoformat(sep=' ')}'"
        return "'" + str(value).replace("'", "''") + "'"

    parts = statement.split("%s")
    out = parts[0]
    for value, part in zip(args, parts[1:], strict=True):
        out += literal(value) + part
    return " ".join(out.split())


def retried(step: Callable[..., T]) -> Callable[..., T]:
    """Run a one-transaction step again after a lock conflict, backing off, a few times: any
    session that locks a partition before its parent can deadlock with a DDL step."""

    @functools.wraps(step)
    def again(*args: Any, **kwargs: Any) -> T:
        for attempt in range(LOCK_RETRIES):
            try:
                return step(*args, **kwargs)
            except Exception as exc:
                if not is_lock_conflict(exc) or attempt == LOCK_RETRIES - 1:
                    raise
                time.sleep(0.1 * 2**attempt)
        raise AssertionError("unreachable")

    return again


@dataclass(frozen=True)
class Partition:
    name: str  # as the server names it (MySQL: partition; PostgreSQL: the child table)
    upper: datetime | None  # exclusive upper bound; None: MAXVALUE / DEFAULT
    bound: str  # the bound as the server prints it, for the dry run

    def wholly_before(self, cutoff: datetime) -> bool:
        return self.upper is not None and self.upper <= cutoff


class CleanupTable:
    """What both engines share: names, the shape, statement helpers."""

    # PostgreSQL: a DETACH that locks the whole table, where CONCURRENTLY cannot be used.
    allow_blocking_detach = False

    family = ""
    SWAP_NOTE = ""  # what the copy's swap does beyond the statements a dry run prints

    def __init__(self, node: NodeSpec, name: str, ts_column: str | None, lock_wait_s: float):
        self.node = node
        self.lock_wait_s = lock_wait_s
        self.conn = self._connect()
        try:
            self.shape: TableShape = describe_table(self.conn, self.family, name, node.database)
        except Exception:
            close_quietly(self.conn)
            raise
        self.ts_name = self._time_column(name, ts_column)
        self.schema, self.name = self.shape.schema, self.shape.table
        self.key = self.q(self.shape.key.name)
        self.ts = self.q(self.ts_name)
        self.table = self.qualified(self.name)
        self.new_name = f"_{self.name}_new"[:63]
        self.old_name = f"_{self.name}_old"[:63]
        self.doomed_name = f"_{self.name}_doomed"[:63]
        # The doomed set of this run, once made (doomed_sql / make_doomed): its quoted name.
        self.doomed = ""
        self.doomed_temporary = False
        self.columns = ", ".join(self.q(c.name) for c in self.shape.columns)

    def _connect(self) -> Any:
        raise NotImplementedError

    def _time_column(self, name: str, wanted: str | None) -> str:
        times = [c.name for c in self.shape.columns if c.data_type.lower() in TIME_TYPES]
        if wanted is not None:
            if wanted not in times:
                raise InputError(
                    "--ts-column",
                    wanted,
                    f"is not a date/time column of {name} ({times or 'none'})",
                )
            return wanted
        if not times:
            raise InputError("--table", name, "has no date/time column to apply a retention to")
        return times[0]

    def q(self, name: str) -> str:
        return adapter_for(self.node).quote(name)

    def qualified(self, name: str) -> str:
        return f"{self.q(self.schema)}.{self.q(name)}"

    def fmt(self, statement: str, **names: str) -> str:
        values = {"doomed": self.doomed, "temporary": "TEMPORARY " if self.doomed_temporary else ""}
        values.update(names)
        return statement.format(
            table=self.table, key=self.key, ts=self.ts, columns=self.columns, **values
        )

    def one(self, statement: str, args: Sequence[Any] | None = None) -> Any:
        rows = self.rows(statement, args)
        return rows[0][0] if rows else None

    def rows(self, statement: str, args: Sequence[Any] | None = None) -> list[Any]:
        raise NotImplementedError

    def execute(self, statement: str, args: Sequence[Any] | None = None) -> int:
        """Run a statement; the rows it changed."""
        raise NotImplementedError

    def close(self) -> None:
        close_quietly(self.conn)

    @retried
    def execute_step(self, statement: str) -> int:
        """A statement that is a step of its own (DDL): run again after a lock conflict."""
        return self.execute(statement)

    # -- the same on both engines -------------------------------------------------------------

    def high_water(self) -> int:
        return int(self.one(self.fmt(self.sql.HIGH_WATER)) or 0)

    def count_all(self) -> int:
        return int(self.one(self.fmt(self.sql.COUNT_ALL)) or 0)

    def count_older(self, cutoff: datetime, high_water: int) -> int:
        return int(self.one(self.fmt(self.sql.COUNT_OLDER), (self.stamp(cutoff), high_water)))

    def chunk_end(self, after: int, upto: int, size: int, older: datetime | None) -> int | None:
        """The key that ends the next chunk of `size` rows after `after` (only rows older than
        `older` counted when given), or None when there are no more."""
        statement = self.fmt(
            self.sql.CHUNK_END, older=self.fmt(self.sql.CHUNK_OLDER) if older else ""
        )
        args: list[Any] = [after, upto]
        if older is not None:
            args.append(self.stamp(older))
        args.append(size)
        end = self.one(statement, args)
        return int(end) if end is not None else None

    @retried
    def delete_chunk(self, after: int, upto: int, cutoff: datetime) -> int:
        return self.execute(self.fmt(self.sql.DELETE_CHUNK), (after, upto, self.stamp(cutoff)))

    def copy_chunk(self, after: int, upto: int, cutoff: datetime, high_water: int) -> int:
        """Copy the kept rows of (after, upto] that no other transaction holds; the rows it
        skips show in uncopied_keys() and are copied by copy_key() once they are free."""
        raise NotImplementedError

    def copy_chunk_sql(self, after: int, upto: int, cutoff: datetime, high_water: int) -> list[str]:
        raise NotImplementedError

    def copy_key(self, key: int, cutoff: datetime, high_water: int) -> int:
        """Copy one row the chunks skipped, waiting (at most lock_wait_s) for whoever holds it.
        Nothing else is held meanwhile, so this wait can never be half of a deadlock."""
        raise NotImplementedError

    def uncopied_keys(self, after: int, upto: int, cutoff: datetime, high_water: int) -> list[int]:
        """Keys in (after, upto] that the copy should hold and does not: rows a chunk skipped
        because another transaction held them (read without locks, so it may also name a row
        whose change is about to commit; copy_key() sorts those out)."""
        statement = self.fmt(
            self.sql.UNCOPIED, new=self.qualified(self.new_name), keep_o=self.keep_sql("o")
        )
        rows = self.rows(statement, (after, upto, self.stamp(cutoff)))
        return [int(r[0]) for r in rows]

    def keep_condition(self, row: str, cutoff: datetime, high_water: int) -> str:
        """SQL true for a row the copy keeps; literals, as trigger bodies take no parameters."""
        literal = self.stamp(cutoff).isoformat(sep=" ")
        return self.keep_sql(row, f"'{literal}'")

    def keep_sql(self, row: str, cutoff: str = "%s") -> str:
        """A row the copy keeps: newer than the cutoff, or not among the doomed keys."""
        return self.fmt(self.sql.KEEP, row=row, cutoff=cutoff)

    # -- the doomed set: the keys older than the cutoff when the run starts --------------------

    def use_doomed(self, temporary: bool) -> None:
        """Name this run's doomed set (a session's TEMPORARY table, or a real one that other
        sessions' triggers can read)."""
        self.doomed_temporary = temporary
        self.doomed = self._doomed_qualified(temporary)

    def _doomed_qualified(self, temporary: bool) -> str:
        return self.qualified(self.doomed_name)

    def doomed_sql(self, cutoff: datetime, high_water: int) -> list[str]:
        return [
            self.fmt(self.sql.DOOMED_CREATE),
            render(self.fmt(self.sql.DOOMED_FILL), (self.stamp(cutoff), high_water)),
        ]

    def make_doomed(self, cutoff: datetime, high_water: int) -> int:
        """Create and fill the doomed set; how many keys it holds."""
        self.drop_doomed()
        self.execute_step(self.fmt(self.sql.DOOMED_CREATE))
        self._fill_doomed(cutoff, high_water)
        return int(self.one(self.fmt(self.sql.DOOMED_COUNT)))

    def _fill_doomed(self, cutoff: datetime, high_water: int) -> None:
        self.execute(self.fmt(self.sql.DOOMED_FILL), (self.stamp(cutoff), high_water))

    def drop_doomed(self) -> None:
        if self.doomed:
            self.execute(self.fmt(self.sql.DOOMED_DROP))

    def doomed_chunk_end(self, after: int, size: int) -> int | None:
        end = self.one(self.fmt(self.sql.DOOMED_CHUNK_END), (after, size))
        return int(end) if end is not None else None

    def delete_doomed_chunk_sql(self, after: int, upto: int, cutoff: datetime) -> str:
        return render(
            self.fmt(self.sql.DELETE_DOOMED_CHUNK), (after, upto, self.stamp(cutoff), after, upto)
        )

    @retried
    def delete_doomed_chunk(self, after: int, upto: int, cutoff: datetime) -> int:
        """Delete the doomed keys of (after, upto] that are still older than the cutoff."""
        return self.execute(
            self.fmt(self.sql.DELETE_DOOMED_CHUNK), (after, upto, self.stamp(cutoff), after, upto)
        )

    def account_doomed(self, cutoff: datetime, source: str) -> tuple[int, int, int]:
        """Of the doomed keys: how many, how many are gone from `source` (a quoted table), and
        how many are newer than the cutoff there now."""
        row = self.rows(self.fmt(self.sql.DOOMED_ACCOUNT, source=source), (self.stamp(cutoff),))
        total, gone, newer = row[0]
        return int(total), int(gone or 0), int(newer or 0)

    @property
    def sql(self) -> Any:
        return statements_for(self.family)

    def stamp(self, moment: datetime) -> datetime:
        return moment

    def from_stamp(self, value: Any) -> datetime:
        return value  # type: ignore[no-any-return]

    def exists(self, name: str) -> bool:
        raise NotImplementedError

    def refresh_statistics(self) -> None:
        raise NotImplementedError

    def run_maintenance(self, statement: str) -> None:
        """OPTIMIZE / VACUUM / ANALYZE (MySQL answers these with a result set to read)."""
        self.execute(statement)

    def fragmentation(self, refresh: bool = True) -> float | None:
        """Reclaimable / allocated, measured as the Tables screen measures it; `refresh` first
        brings the server's statistics up to date (MySQL: ANALYZE, which a dry run must not
        send: it rewrites the statistics and takes locks)."""
        if refresh:
            self.refresh_statistics()
        collector = adapter_for(self.node).collector()
        sample = collector.read_table(self.conn, self.schema, self.name)
        if sample.error:
            raise RuntimeError(sample.error)
        return sample.fragmentation_ratio


def open_table(
    node: NodeSpec, name: str, ts_column: str | None = None, lock_wait_s: float = 5.0
) -> MySQLCleanupTable | PostgresCleanupTable:
    from clustertop.actions.cleanup.mysql_table import MySQLCleanupTable
    from clustertop.actions.cleanup.postgres_table import PostgresCleanupTable

    by_family: dict[str, type[MySQLCleanupTable] | type[PostgresCleanupTable]] = {
        "mysql": MySQLCleanupTable,
        "postgres": PostgresCleanupTable,
    }
    return by_family[node.family](node, name, ts_column, lock_wait_s)
