"""One table to clean, on one engine: every statement a cleanup sends, behind the same methods
for MySQL/MariaDB and PostgreSQL, so the methods themselves are written once (methods.py).

Every step that removes rows counts them under the lock that removes them, so the numbers a
run reports are the server's, not an estimate."""

from __future__ import annotations

import contextlib
import functools
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from clustertop.actions.sql import mysql as my_sql
from clustertop.actions.sql import postgres as pg_sql
from clustertop.actions.sql import statements_for
from clustertop.actions.workload.table import TIME_TYPES, TableShape, describe_table
from clustertop.collectors.connect import connect_mysql, connect_postgres
from clustertop.collectors.engines import adapter_for
from clustertop.collectors.errors import close_quietly, is_lock_conflict
from clustertop.core.errors import InputError
from clustertop.core.nodes import NodeSpec

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
        return statement.format(
            table=self.table, key=self.key, ts=self.ts, columns=self.columns, **names
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
        statement = self.fmt(self.sql.UNCOPIED, new=self.qualified(self.new_name))
        rows = self.rows(statement, (after, upto, self.stamp(cutoff), high_water))
        return [int(r[0]) for r in rows]

    def keep_condition(self, row: str, cutoff: datetime, high_water: int) -> str:
        """SQL true for a row the copy keeps; literals, as trigger bodies take no parameters."""
        literal = self.stamp(cutoff).isoformat(sep=" ")
        return f"{row}.{self.ts} >= '{literal}' OR {row}.{self.key} > {int(high_water)}"

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

    def fragmentation(self) -> float | None:
        """Reclaimable / allocated, measured as the Tables screen measures it."""
        self.refresh_statistics()
        collector = adapter_for(self.node).collector()
        sample = collector.read_table(self.conn, self.schema, self.name)
        if sample.error:
            raise RuntimeError(sample.error)
        return sample.fragmentation_ratio


class MySQLCleanupTable(CleanupTable):
    family = "mysql"

    def run_maintenance(self, statement: str) -> None:
        self.rows(statement)

    def _connect(self) -> Any:
        conn = connect_mysql(self.node, connect_timeout=5, statement_timeout=LONG_STATEMENT_S)
        try:
            with conn.cursor() as cur:
                # Every lock wait of a cleanup is bounded, metadata locks included (a DDL step
                # queued behind a long transaction holds up every query on the table); a step
                # that gives up is retried.
                wait = max(1, round(self.lock_wait_s))
                cur.execute(my_sql.SESSION_ROW_LOCK_WAIT, (wait,))
                cur.execute(my_sql.SESSION_LOCK_WAIT, (wait,))
        except Exception:
            close_quietly(conn)
            raise
        return conn

    def rows(self, statement: str, args: Sequence[Any] | None = None) -> list[Any]:
        with self.conn.cursor() as cur:
            cur.execute(statement, args)
            return list(cur.fetchall())

    def execute(self, statement: str, args: Sequence[Any] | None = None) -> int:
        with self.conn.cursor() as cur:
            return int(cur.execute(statement, args))

    def stamp(self, moment: datetime) -> datetime:
        return moment.astimezone(UTC).replace(tzinfo=None)  # DATETIME: UTC, sessions are UTC

    def from_stamp(self, value: Any) -> datetime:
        return value.replace(tzinfo=UTC) if isinstance(value, datetime) else value

    def server_now(self) -> datetime:
        return self.from_stamp(self.one(my_sql.CLEANUP_NOW))

    def exists(self, name: str) -> bool:
        return bool(self.rows(my_sql.TABLE_EXISTS, (self.schema, name)))

    def referenced_by(self) -> str | None:
        found = self.one(my_sql.REFERENCED_BY, (self.schema, self.name))
        return str(found) if found else None

    @contextlib.contextmanager
    def write_locked(self) -> Iterator[None]:
        self.execute(self.fmt(my_sql.LOCK_WRITE))
        try:
            yield
        finally:
            self.execute(my_sql.UNLOCK)

    # -- partitions ---------------------------------------------------------------------------

    def partitions(self) -> list[Partition]:
        rows = self.rows(my_sql.PARTITIONS, (self.schema, self.name))
        if not rows:
            raise InputError(
                "--table",
                self.shape_name,
                "is not partitioned: partition_drop needs RANGE partitions",
            )
        result = []
        for name, method, expression, description in rows:
            expr = str(expression or "").replace("`", "").lower().replace(" ", "")
            ts = self.ts_name.lower()
            if method != "RANGE" or expr != f"to_days({ts})":
                raise InputError(
                    "--table",
                    self.shape_name,
                    f"is partitioned by {method} {expression}; partition_drop needs RANGE "
                    f"(TO_DAYS({self.ts_name}))",
                )
            upper = None
            if description and str(description).upper() != "MAXVALUE":
                # TO_DAYS(d) is the proleptic ordinal + 365.
                day = date.fromordinal(int(description) - 365)
                upper = datetime(day.year, day.month, day.day, tzinfo=UTC)
            result.append(Partition(str(name), upper, f"VALUES LESS THAN ({description})"))
        return result

    @retried
    def drop_partition(self, partition: Partition, cutoff: datetime) -> int:
        """Count and drop under one write lock: the count is what the drop removed."""
        with self.write_locked():
            rows = int(self.one(self.fmt(my_sql.COUNT_PARTITION, partition=self.q(partition.name))))
            self.execute(self.fmt(my_sql.DROP_PARTITION, partition=self.q(partition.name)))
        return rows

    def drop_partition_sql(self, partition: Partition) -> list[str]:
        return [
            self.fmt(my_sql.LOCK_WRITE),
            self.fmt(my_sql.COUNT_PARTITION, partition=self.q(partition.name)),
            self.fmt(my_sql.DROP_PARTITION, partition=self.q(partition.name)),
            my_sql.UNLOCK,
        ]

    def count_partition(self, partition: Partition) -> int:
        return int(self.one(self.fmt(my_sql.COUNT_PARTITION, partition=self.q(partition.name))))

    def count_partition_older(self, partition: Partition, cutoff: datetime) -> int:
        statement = self.fmt(my_sql.COUNT_PARTITION_OLDER, partition=self.q(partition.name))
        return int(self.one(statement, (self.stamp(cutoff),)))

    def add_partitions_sql(self, days: Sequence[date], catch_all: str | None) -> str:
        """Daily partitions for `days`: split off the catch-all when there is one."""
        parts = ", ".join(
            my_sql.PARTITION_DEF.format(name=self.q(f"p{d:%Y%m%d}"), upper=d + timedelta(days=1))
            for d in days
        )
        if catch_all is None:
            return self.fmt(my_sql.ADD_PARTITIONS, partitions=parts)
        return self.fmt(my_sql.ADD_PARTITION, catch_all=self.q(catch_all), partitions=parts)

    # -- truncate -----------------------------------------------------------------------------

    @retried
    def truncate(self) -> int:
        with self.write_locked():
            rows = self.count_all()
            self.execute(self.fmt(my_sql.TRUNCATE))
        return rows

    def truncate_sql(self) -> list[str]:
        return [
            self.fmt(my_sql.LOCK_WRITE),
            self.fmt(my_sql.COUNT_ALL),
            self.fmt(my_sql.TRUNCATE),
            my_sql.UNLOCK,
        ]

    # -- copy ---------------------------------------------------------------------------------

    def _trigger_names(self) -> dict[str, str]:
        base = f"{COPY_PREFIX}{self.name}"[:56]
        return {"ins": f"{base}_ins", "upd": f"{base}_upd", "del": f"{base}_del"}

    def copy_setup_sql(self, cutoff: datetime, high_water: int) -> list[str]:
        new = self.qualified(self.new_name)
        keep = self.keep_condition("NEW", cutoff, high_water)
        values = ", ".join(f"NEW.{self.q(c.name)}" for c in self.shape.columns)
        names = self._trigger_names()
        common = {"schema": self.q(self.schema), "new": new, "keep_new": keep, "new_values": values}
        return [
            self.fmt(my_sql.CREATE_LIKE, new=new),
            self.fmt(my_sql.TRIGGER_INSERT, name=self.q(names["ins"]), **common),
            self.fmt(my_sql.TRIGGER_UPDATE, name=self.q(names["upd"]), **common),
            self.fmt(my_sql.TRIGGER_DELETE, name=self.q(names["del"]), **common),
        ]

    def _copy_insert(self) -> str:
        placeholders = ", ".join(["%s"] * len(self.shape.columns))
        return self.fmt(
            my_sql.COPY_INSERT, new=self.qualified(self.new_name), placeholders=placeholders
        )

    def _copy_rows(self, select: str, args: Sequence[Any]) -> int:
        """Read rows with shared locks and write them into the copy, in one transaction."""
        self.execute(my_sql.COPY_ISOLATION)
        self.conn.begin()
        try:
            # The rows go straight back to the server: read them as the server's text (no
            # conversion to Python values and back); the session's time zone is UTC.
            decoders, self.conn.decoders = self.conn.decoders, {}
            try:
                rows = self.rows(self.fmt(select), args)
            finally:
                self.conn.decoders = decoders
            copied = 0
            if rows:
                with self.conn.cursor() as cur:
                    # PyMySQL sends these as multi-row INSERTs: no per-row round trip.
                    copied = int(cur.executemany(self._copy_insert(), rows) or 0)
            self.conn.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                self.conn.rollback()
            raise
        return copied

    @retried
    def copy_chunk(self, after: int, upto: int, cutoff: datetime, high_water: int) -> int:
        return self._copy_rows(my_sql.COPY_SELECT, (after, upto, self.stamp(cutoff), high_water))

    def copy_chunk_sql(self, after: int, upto: int, cutoff: datetime, high_water: int) -> list[str]:
        select = render(self.fmt(my_sql.COPY_SELECT), (after, upto, self.stamp(cutoff), high_water))
        return [
            my_sql.COPY_ISOLATION,
            "START TRANSACTION",
            select,
            self._copy_insert().replace("VALUES (", "VALUES /* each row just read */ ("),
            "COMMIT",
        ]

    def copy_key(self, key: int, cutoff: datetime, high_water: int) -> int:
        return self._copy_rows(my_sql.COPY_SELECT_KEY, (key, self.stamp(cutoff), high_water))

    def copy_leftovers(self) -> list[str]:
        """What an interrupted copy of this table left: its triggers and its new table."""
        found = [
            str(r[0])
            for r in self.rows(my_sql.COPY_TRIGGERS, (self.schema, f"{COPY_PREFIX}{self.name}%"))
            if str(r[0]) in self._trigger_names().values()
        ]
        return found + ([self.new_name] if self.exists(self.new_name) else [])

    @retried
    def copy_teardown(self) -> None:
        for name in self._trigger_names().values():
            self.execute(my_sql.DROP_TRIGGER.format(schema=self.q(self.schema), name=self.q(name)))
        self.execute(my_sql.DROP_TABLE_Q.format(name=self.qualified(self.new_name)))

    def swap_sql(self) -> list[str]:
        return [
            self.fmt(
                my_sql.SWAP, old=self.qualified(self.old_name), new=self.qualified(self.new_name)
            )
        ]

    @retried
    def swap(self) -> None:
        """One RENAME TABLE: atomic, so readers see the old table or the new, never neither."""
        self.execute(self.swap_sql()[0])
        for name in self._trigger_names().values():
            self.execute(my_sql.DROP_TRIGGER.format(schema=self.q(self.schema), name=self.q(name)))

    def count_removed_by_copy(self, cutoff: datetime, high_water: int) -> int:
        """Rows of the old table the copy did not keep: the old table no longer changes."""
        statement = my_sql.COUNT_OLDER.format(
            table=self.qualified(self.old_name), key=self.key, ts=self.ts
        )
        return int(self.one(statement, (self.stamp(cutoff), high_water)))

    def drop_old_sql(self) -> str:
        return my_sql.DROP_TABLE_Q.format(name=self.qualified(self.old_name))

    # -- bookkeeping --------------------------------------------------------------------------

    def log_position(self) -> Any:
        try:
            return sum(int(r[1]) for r in self.rows(my_sql.BINLOG_BYTES))
        except Exception:
            return None  # binary logging off: nothing is written to it

    def log_bytes_since(self, position: Any) -> int | None:
        now = self.log_position()
        return None if now is None or position is None else int(now - position)

    def refresh_statistics(self, purge_wait_s: float = 5.0) -> None:
        """Fresh page counts for the fragmentation figure. Deleted rows leave their pages only
        when InnoDB purges them, so first wait (boundedly) for the history list to drain."""
        deadline = time.monotonic() + purge_wait_s
        while time.monotonic() < deadline:
            length = self._history_length()
            if length is None or length < PURGED_HISTORY:
                break
            time.sleep(0.2)
        self.rows(self.fmt(my_sql.ANALYZE_LOCAL))

    def _history_length(self) -> int | None:
        try:
            status = str(self.rows(my_sql.INNODB_STATUS)[0][2])
        except Exception:
            return None  # no PROCESS privilege: measure without waiting
        found = re.search(r"History list length (\d+)", status)
        return int(found.group(1)) if found else None

    def optimize_sql(self, mode: str) -> str:
        return self.fmt(my_sql.OPTIMIZE if mode in ("optimize", "full") else my_sql.ANALYZE)

    @property
    def shape_name(self) -> str:
        return f"{self.schema}.{self.name}"


class PostgresCleanupTable(CleanupTable):
    family = "postgres"
    SWAP_NOTE = "the swap also renames each index of the copy to its original's name"

    def _connect(self) -> Any:
        conn = connect_postgres(self.node, connect_timeout=5, statement_timeout=LONG_STATEMENT_S)
        try:
            # Every lock wait of a cleanup is bounded (a DDL step queued behind a long
            # transaction holds up every query on the table); a step that gives up is retried.
            conn.execute(pg_sql.SESSION_LOCK_TIMEOUT, (f"{round(self.lock_wait_s * 1000)}ms",))
        except Exception:
            close_quietly(conn)
            raise
        return conn

    def rows(self, statement: str, args: Sequence[Any] | None = None) -> list[Any]:
        cur = self.conn.execute(statement, args)
        return list(cur.fetchall()) if cur.description else []

    def execute(self, statement: str, args: Sequence[Any] | None = None) -> int:
        return int(self.conn.execute(statement, args).rowcount)

    def server_now(self) -> datetime:
        return self.one(pg_sql.CLEANUP_NOW)  # type: ignore[no-any-return]

    def exists(self, name: str) -> bool:
        return bool(self.one(pg_sql.TABLE_EXISTS, (self.qualified(name),)))

    def referenced_by(self) -> str | None:
        found = self.one(pg_sql.REFERENCED_BY, (self.table,))
        return str(found) if found else None

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """A transaction holding ACCESS EXCLUSIVE on the table, waiting at most lock_wait_s."""
        with self.conn.transaction():
            self.execute(pg_sql.LOCAL_LOCK_TIMEOUT, (f"{round(self.lock_wait_s * 1000)}ms",))
            self.execute(self.fmt(pg_sql.LOCK_EXCLUSIVE))
            yield

    @property
    def partitioned(self) -> bool:
        return bool(self.one(pg_sql.IS_PARTITIONED, (self.table,)))

    # -- partitions ---------------------------------------------------------------------------

    def partitions(self) -> list[Partition]:
        if not self.partitioned:
            raise InputError(
                "--table",
                self.shape_name,
                "is not partitioned: partition_drop needs RANGE partitions",
            )
        key = str(self.one(pg_sql.PARTITION_KEY, (self.table,)))
        if key.replace('"', "").lower() != f"range ({self.ts_name.lower()})":
            raise InputError(
                "--table",
                self.shape_name,
                f"is partitioned by {key}; partition_drop needs RANGE ({self.ts_name})",
            )
        return [
            Partition(f"{self.q(schema)}.{self.q(name)}", upper, str(bound))
            for schema, name, bound, upper in self.rows(pg_sql.PARTITIONS, (self.table,))
        ]

    @retried
    def drop_partition(self, partition: Partition, cutoff: datetime) -> int:
        """Lock, count, detach and drop in one transaction: the count is what the drop removed."""
        with self.exclusive():
            rows = int(self.one(f"SELECT count(*) FROM {partition.name}"))
            for statement in self.drop_partition_sql(partition)[2:]:
                self.execute(statement)
        return rows

    def drop_partition_sql(self, partition: Partition) -> list[str]:
        return [
            self.fmt(pg_sql.LOCK_EXCLUSIVE),
            f"SELECT count(*) FROM {partition.name}",
            self.fmt(pg_sql.DETACH_PARTITION, partition=partition.name),
            pg_sql.DROP_DETACHED.format(partition=partition.name),
        ]

    def count_partition(self, partition: Partition) -> int:
        return int(self.one(f"SELECT count(*) FROM {partition.name}"))

    def count_partition_older(self, partition: Partition, cutoff: datetime) -> int:
        statement = pg_sql.COUNT_PARTITION_OLDER.format(partition=partition.name, ts=self.ts)
        return int(self.one(statement, (cutoff,)))

    def add_partition_sql(self, day: date) -> str:
        name = self.qualified(f"{self.name}_p{day:%Y%m%d}")
        return self.fmt(
            pg_sql.CREATE_PARTITION,
            partition=name,
            lower=f"{day:%Y-%m-%d} 00:00:00+00",
            upper=f"{day + timedelta(days=1):%Y-%m-%d} 00:00:00+00",
        )

    # -- truncate -----------------------------------------------------------------------------

    @retried
    def truncate(self) -> int:
        with self.exclusive():
            rows = self.count_all()
            self.execute(self.fmt(pg_sql.TRUNCATE))
        return rows

    def truncate_sql(self) -> list[str]:
        return [
            "BEGIN",
            self.fmt(pg_sql.LOCK_EXCLUSIVE),
            self.fmt(pg_sql.COUNT_ALL),
            self.fmt(pg_sql.TRUNCATE),
            "COMMIT",
        ]

    # -- copy ---------------------------------------------------------------------------------

    @property
    def _function(self) -> str:
        return self.qualified(f"{COPY_PREFIX}{self.name}"[:63])

    @property
    def _trigger(self) -> str:
        return self.q(f"{COPY_PREFIX}{self.name}"[:63])

    def copy_setup_sql(self, cutoff: datetime, high_water: int) -> list[str]:
        if self.partitioned:
            raise InputError(
                "--method", "copy", f"{self.shape_name} is partitioned: use partition_drop"
            )
        new = self.qualified(self.new_name)
        names = [self.q(c.name) for c in self.shape.columns]
        return [
            self.fmt(pg_sql.CREATE_LIKE, new=new),
            self.fmt(
                pg_sql.COPY_FUNCTION,
                function=self._function,
                new=new,
                keep_new=self.keep_condition("NEW", cutoff, high_water),
                new_values=", ".join(f"NEW.{n}" for n in names),
                update_all=", ".join(f"{n} = EXCLUDED.{n}" for n in names),
            ),
            self.fmt(pg_sql.COPY_TRIGGER, trigger=self._trigger, function=self._function),
        ]

    @retried
    def copy_chunk(self, after: int, upto: int, cutoff: datetime, high_water: int) -> int:
        statement = self.fmt(pg_sql.COPY_CHUNK, new=self.qualified(self.new_name))
        return self.execute(statement, (after, upto, cutoff, high_water))

    def copy_chunk_sql(self, after: int, upto: int, cutoff: datetime, high_water: int) -> list[str]:
        statement = self.fmt(pg_sql.COPY_CHUNK, new=self.qualified(self.new_name))
        return [render(statement, (after, upto, cutoff, high_water))]

    def copy_key(self, key: int, cutoff: datetime, high_water: int) -> int:
        statement = self.fmt(pg_sql.COPY_KEY, new=self.qualified(self.new_name))
        with self.conn.transaction():
            self.execute(pg_sql.LOCAL_LOCK_TIMEOUT, (f"{round(self.lock_wait_s * 1000)}ms",))
            return self.execute(statement, (key, cutoff, high_water))

    def copy_leftovers(self) -> list[str]:
        found = []
        if self.one("SELECT to_regprocedure(%s)", (f"{self._function}()",)):
            found.append(self._function)
        if self.exists(self.new_name):
            found.append(self.new_name)
        return found

    @retried
    def copy_teardown(self) -> None:
        with self.conn.transaction():
            self.execute(self.fmt(pg_sql.DROP_TRIGGER, trigger=self._trigger))
            self.execute(pg_sql.DROP_TABLE_Q.format(name=self.qualified(self.new_name)))
            self.execute(pg_sql.DROP_FUNCTION.format(function=self._function))

    def swap_sql(self) -> list[str]:
        new, old = self.qualified(self.new_name), self.qualified(self.old_name)
        statements = ["BEGIN", self.fmt(pg_sql.LOCK_EXCLUSIVE)]
        for column, sequence, identity in self.rows(
            pg_sql.SEQUENCES, (self.table, self.table, self.table)
        ):
            if identity:
                statements.append(
                    pg_sql.SYNC_SEQUENCE.format(new=new, column=column, sequence=sequence)
                )
            else:
                statements.append(
                    pg_sql.OWN_SEQUENCE.format(sequence=sequence, new=new, column=self.q(column))
                )
        schema = self.q(self.schema)
        pairs = (
            self.rows(pg_sql.INDEX_PAIRS, (new, self.table)) if self.exists(self.new_name) else []
        )
        for old_index, new_index, original in pairs:
            aside = self.q(f"{original[:59]}_old")
            statements.append(
                pg_sql.RENAME_INDEX.format(schema=schema, index=old_index, name=aside)
            )
            statements.append(
                pg_sql.RENAME_INDEX.format(schema=schema, index=new_index, name=self.q(original))
            )
        statements += [
            pg_sql.RENAME.format(table=self.table, name=self.q(self.old_name)),
            pg_sql.RENAME.format(table=new, name=self.q(self.name)),
            pg_sql.DROP_TRIGGER.format(trigger=self._trigger, table=old),
            pg_sql.DROP_FUNCTION.format(function=self._function),
            "COMMIT",
        ]
        return statements

    @retried
    def swap(self) -> None:
        """One transaction under ACCESS EXCLUSIVE: sessions see the old table or the new."""
        statements = self.swap_sql()[2:-1]
        with self.exclusive():
            for statement in statements:
                self.execute(statement)

    def count_removed_by_copy(self, cutoff: datetime, high_water: int) -> int:
        statement = pg_sql.COUNT_OLDER.format(
            table=self.qualified(self.old_name), key=self.key, ts=self.ts
        )
        return int(self.one(statement, (cutoff, high_water)))

    def drop_old_sql(self) -> str:
        return pg_sql.DROP_TABLE_Q.format(name=self.qualified(self.old_name))

    # -- bookkeeping --------------------------------------------------------------------------

    def log_position(self) -> Any:
        return self.one(pg_sql.WAL_LSN)

    def log_bytes_since(self, position: Any) -> int | None:
        return int(self.one(pg_sql.WAL_BYTES_SINCE, (position,))) if position else None

    def refresh_statistics(self) -> None:
        pass  # pgstattuple_approx reads the table itself

    def optimize_sql(self, mode: str) -> str:
        statement = {"full": pg_sql.VACUUM_FULL, "analyze": pg_sql.ANALYZE_TABLE}.get(
            mode, pg_sql.VACUUM
        )
        return self.fmt(statement)

    @property
    def shape_name(self) -> str:
        return f"{self.schema}.{self.name}"


CLEANUP_TABLES: dict[str, type[MySQLCleanupTable] | type[PostgresCleanupTable]] = {
    "mysql": MySQLCleanupTable,
    "postgres": PostgresCleanupTable,
}


def open_table(
    node: NodeSpec, name: str, ts_column: str | None = None, lock_wait_s: float = 5.0
) -> MySQLCleanupTable | PostgresCleanupTable:
    cls = CLEANUP_TABLES[node.family]
    return cls(node, name, ts_column, lock_wait_s)
