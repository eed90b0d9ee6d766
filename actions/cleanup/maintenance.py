"""Maintenance around cleanups: daily partitions kept ahead of time and dropped past a
retention, and reclaiming the space a delete leaves (OPTIMIZE TABLE / VACUUM)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from clustertop.actions.cleanup.mysql_table import MySQLCleanupTable
from clustertop.actions.cleanup.postgres_table import PostgresCleanupTable
from clustertop.actions.cleanup.tables import open_table
from clustertop.actions.jobs import Job
from clustertop.core.nodes import NodeSpec


class PartitionMaintenance(Job):
    """Create a daily partition for each day from the newest one up to today + future_days;
    drop the partitions wholly older than now - retention_days."""

    def __init__(
        self,
        cluster: str,
        node: NodeSpec,
        table: str,
        future_days: int,
        retention_days: float,
        ts_column: str | None = None,
        *,
        dry_run: bool = False,
    ) -> None:
        super().__init__(
            kind="partitions",
            title=f"partition maintenance {table}",
            cluster=cluster,
            unit="statements",
        )
        self.node, self.table_name = node, table
        self.future_days, self.retention_days = future_days, retention_days
        self.ts_column = ts_column
        self.dry_run = dry_run

    def plan(self) -> list[str]:
        table = open_table(self.node, self.table_name, self.ts_column)
        try:
            return self._plan(table)
        finally:
            table.close()

    def _plan(self, table: MySQLCleanupTable | PostgresCleanupTable) -> list[str]:
        partitions = table.partitions()
        now = table.server_now().astimezone(UTC)
        cutoff = now - timedelta(days=self.retention_days)
        bounded = [p for p in partitions if p.upper is not None]
        catch_all = next(
            (p for p in partitions if p.upper is None and "DEFAULT" not in p.bound), None
        )
        newest = max((p.upper for p in bounded if p.upper is not None), default=None)
        first_day = newest.date() if newest else now.date()
        last_day = now.date() + timedelta(days=self.future_days)
        days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
        statements: list[str] = []
        if days:
            statements += self._add(table, days, catch_all.name if catch_all else None)
        for partition in bounded:
            if partition.wholly_before(cutoff):
                statements += [
                    s
                    for s in table.drop_partition_sql(partition)
                    if not s.startswith(("LOCK", "SELECT", "UNLOCK"))
                ]
        return statements

    @staticmethod
    def _add(
        table: MySQLCleanupTable | PostgresCleanupTable, days: Sequence[date], catch_all: str | None
    ) -> list[str]:
        if isinstance(table, MySQLCleanupTable):
            return [table.add_partitions_sql(days, catch_all)]
        creates = [table.add_partition_sql(day) for day in days]
        if catch_all is None:
            return creates
        # The catch-all holds the new days' range: detach it, create the days, move its rows
        # of those days into them, attach it again above them. One transaction.
        upper = datetime(days[-1].year, days[-1].month, days[-1].day, tzinfo=UTC) + timedelta(
            days=1
        )
        literal = upper.strftime("%Y-%m-%d %H:%M:%S+00")
        return [
            "BEGIN",
            f"ALTER TABLE {table.table} DETACH PARTITION {catch_all}",
            *creates,
            f"INSERT INTO {table.table} ({table.columns}) OVERRIDING SYSTEM VALUE"
            f" SELECT {table.columns} FROM {catch_all} WHERE {table.ts} < '{literal}'",
            f"DELETE FROM {catch_all} WHERE {table.ts} < '{literal}'",
            f"ALTER TABLE {table.table} ATTACH PARTITION {catch_all}"
            f" FOR VALUES FROM ('{literal}') TO (MAXVALUE)",
            "COMMIT",
        ]

    def run(self) -> Sequence[tuple[str, str]]:
        table = open_table(self.node, self.table_name, self.ts_column)
        try:
            statements = self._plan(table)
            self.progress(0, float(len(statements)))
            for done, statement in enumerate(statements, start=1):
                if not _in_txn(statements, done - 1):
                    self.check_cancelled()
                self.log(statement)
                if not self.dry_run:
                    table.execute(statement)
                self.progress(done)
        except BaseException:
            if isinstance(table, PostgresCleanupTable):
                with contextlib.suppress(Exception):
                    table.execute("ROLLBACK")  # the explicit BEGIN ... COMMIT, if one is open
            raise
        finally:
            table.close()
        return (("statements", str(len(statements))),)


def _in_txn(statements: Sequence[str], position: int) -> bool:
    """Is statements[position] inside an explicit BEGIN ... COMMIT (no stopping half-way)?"""
    before = statements[:position]
    return "BEGIN" in before and before.count("BEGIN") > before.count("COMMIT")


class Optimize(Job):
    """OPTIMIZE TABLE (MySQL) / VACUUM, VACUUM FULL, ANALYZE (PostgreSQL), with the table's
    reclaimable space before and after."""

    def __init__(self, cluster: str, node: NodeSpec, table: str, mode: str) -> None:
        super().__init__(kind="optimize", title=f"optimize ({mode}) {table}", cluster=cluster)
        self.node, self.table_name, self.mode = node, table, mode
        self.outcome = ""

    def statement(self) -> str:
        table = open_table(self.node, self.table_name)
        try:
            return table.optimize_sql(self.mode)
        finally:
            table.close()

    def run(self) -> Sequence[tuple[str, str]]:
        table = open_table(self.node, self.table_name)
        try:
            before = _ratio(table)
            statement = table.optimize_sql(self.mode)
            self.log(statement)
            started = time.monotonic()
            table.run_maintenance(statement)
            seconds = time.monotonic() - started
            after = _ratio(table)
        finally:
            table.close()
        self.outcome = (
            f"{statement}: {seconds:.1f} s, fragmentation {_pct(before)} -> {_pct(after)}"
        )
        return (("seconds", f"{seconds:.1f}"), ("frag", f"{_pct(before)} -> {_pct(after)}"))


def _ratio(table: MySQLCleanupTable | PostgresCleanupTable) -> float | None:
    try:
        return table.fragmentation()
    except Exception:
        return None


def _pct(value: float | None) -> str:
    return f"{value * 100:.1f}%" if value is not None else "-"
