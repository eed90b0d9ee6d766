"""The cleanup statements of MySQL/MariaDB: a table to clean on that engine."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from clustertop.actions.cleanup.tables import (
    COPY_PREFIX,
    LONG_STATEMENT_S,
    PURGED_HISTORY,
    CleanupTable,
    Partition,
    render,
    retried,
)
from clustertop.actions.sql import mysql as my_sql
from clustertop.collectors.connect import connect_mysql
from clustertop.collectors.errors import close_quietly
from clustertop.core.errors import InputError


class MySQLCleanupTable(CleanupTable):
    family = "mysql"

    def run_maintenance(self, statement: str) -> None:
        self.rows(statement)

    def _connect(self) -> Any:
        conn = connect_mysql(self.node, connect_timeout=5, statement_timeout=LONG_STATEMENT_S)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT VERSION()")
                self.server_version = str(cur.fetchone()[0])  # type: ignore[index]
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
                rows = self.rows(
                self.fmt(select, keep_o=self.keep_sql("o"), share_skip_locked=self._share_skip()),
                args,
            )
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
        return self._copy_rows(my_sql.COPY_SELECT, (after, upto, self.stamp(cutoff)))

    def copy_chunk_sql(self, after: int, upto: int, cutoff: datetime, high_water: int) -> list[str]:
        select = render(
            self.fmt(
                my_sql.COPY_SELECT, keep_o=self.keep_sql("o"), share_skip_locked=self._share_skip()
            ),
            (after, upto, self.stamp(cutoff)),
        )
        return [
            my_sql.COPY_ISOLATION,
            "START TRANSACTION",
            select,
            self._copy_insert().replace("VALUES (", "VALUES /* each row just read */ ("),
            "COMMIT",
        ]

    def copy_key(self, key: int, cutoff: datetime, high_water: int) -> int:
        return self._copy_rows(my_sql.COPY_SELECT_KEY, (key, self.stamp(cutoff)))

    def copy_leftovers(self) -> list[str]:
        """What an interrupted copy of this table left: its triggers and its new table."""
        found = [
            str(r[0])
            for r in self.rows(my_sql.COPY_TRIGGERS, (self.schema, f"{COPY_PREFIX}{self.name}%"))
            if str(r[0]) in self._trigger_names().values()
        ]
        tables = [n for n in (self.new_name, self.doomed_name) if self.exists(n)]
        return found + tables

    @retried
    def copy_teardown(self) -> None:
        for name in self._trigger_names().values():
            self.execute(my_sql.DROP_TRIGGER.format(schema=self.q(self.schema), name=self.q(name)))
        self.execute(my_sql.DROP_TABLE_Q.format(name=self.qualified(self.new_name)))
        self.execute(my_sql.DROP_TABLE_Q.format(name=self.qualified(self.doomed_name)))

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

    def _share_skip(self) -> str:
        """The locking clause of a copy chunk this server understands."""
        version = getattr(self, "server_version", "")
        number = tuple(int(p) for p in re.findall(r"\d+", version.split("-")[0])[:2])
        if "MariaDB" in version:
            return my_sql.SHARE_SKIP_LOCKED["mariadb" if number >= (10, 6) else "old"]
        return my_sql.SHARE_SKIP_LOCKED["mysql" if number >= (8, 0) else "old"]

    def _fill_doomed(self, cutoff: datetime, high_water: int) -> None:
        # A consistent read: INSERT ... SELECT would hold a shared lock on every row it reads.
        self.execute(my_sql.COPY_ISOLATION)
        super()._fill_doomed(cutoff, high_water)

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
