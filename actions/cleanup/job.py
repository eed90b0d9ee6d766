"""A cleanup run: remove the rows older than a retention with one of four methods, throttled on
replica lag and load, cancellable between any two steps, and recorded in full.

The cutoff (server time - retention) and the table's high-water key are fixed when the run
starts. A selective run removes exactly the rows that existed then and were older than the
cutoff: rows written during the run are never taken, whatever their timestamp.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pymysql

from clustertop.actions.cleanup.mysql_table import MySQLCleanupTable
from clustertop.actions.cleanup.pace import Pacer
from clustertop.actions.cleanup.postgres_table import PostgresCleanupTable
from clustertop.actions.cleanup.tables import open_table
from clustertop.actions.cleanup.throttle import ClusterGauge, LoadLimit, Throttle, run_rules
from clustertop.actions.jobs import Job
from clustertop.collectors.connect import ConnectError
from clustertop.collectors.errors import error_text, is_lock_conflict
from clustertop.core.config import ClusterConfig
from clustertop.core.errors import InputError, OperationFailed
from clustertop.core.nodes import NodeSpec

METHODS = ("partition_drop", "truncate", "copy", "batch_delete")
CHUNKED = ("copy", "batch_delete")  # the methods whose chunks can be paced
# The heartbeat a paced run writes: every 50 ms, so the lag it steers by is read to +-25 ms
# (the monitor's 0.2 s would be +-0.1 s, a third of a 0.3 s target).
PACED_HEARTBEAT_S = 0.05
# How long a finished run goes on reading lag until the replicas have applied its last chunk
# (that chunk's lag comes after the run: a 500,000-row batch lagged the lab's replica 1.7 s
# once the run had ended). A replica further behind than this is named in the log.
REPLICA_TAIL_WAIT_S = 60.0
CleanupTable = MySQLCleanupTable | PostgresCleanupTable


class LockedRows(OperationFailed):
    """Rows the copy must carry stayed locked by other sessions past its patience."""


# What a server that died, hung up or refused us mid-run raises.
DB_FAILURES = (pymysql.err.MySQLError, psycopg.Error, OSError, ConnectError)


@dataclass(frozen=True)
class CleanupSpec:
    cluster: ClusterConfig
    table: str
    method: str
    retention_days: float
    batch_size: int = 5000
    batch_delay_s: float = 0.1
    max_lag_s: float | None = None
    max_load: LoadLimit | None = None
    critical_load: LoadLimit | None = None
    dry_run: bool = False
    drop_old: bool = False
    ts_column: str | None = None
    lock_wait_s: float = 5.0
    verify_kept: bool = False  # read the kept keys before and after: rows_lost (compare does)
    allow_blocking_detach: bool = False  # PostgreSQL: a plain DETACH where CONCURRENTLY cannot
    sentinel: str | None = None  # a file whose appearance stops the run at the next chunk
    # Pacing (batch_delete, copy): chunk sizes and pauses steered toward this replica lag.
    target_lag_s: float | None = None
    # Chunks sized to take this long on the primary (pt-online-schema-change's --chunk-time).
    chunk_time_s: float | None = None
    gate: bool = False  # pause while the cluster's gate is NO-GO, abort on its abort rules

    def check(self) -> None:
        if self.method not in METHODS:
            raise InputError("--method", self.method, f"must be one of {', '.join(METHODS)}")
        if not 0 <= self.retention_days <= 100_000:
            raise InputError("--retention-days", self.retention_days, "must be 0 to 100000")
        if self.batch_size < 1:
            raise InputError("--batch-size", self.batch_size, "must be at least 1")
        if self.batch_delay_s < 0:
            raise InputError("--batch-delay", self.batch_delay_s, "must be 0 or more")
        if self.max_lag_s is not None and self.max_lag_s <= 0:
            raise InputError("--max-lag", self.max_lag_s, "must be more than 0")
        for flag, value in (("--target-lag", self.target_lag_s),
                            ("--chunk-time", self.chunk_time_s)):
            if value is None:
                continue
            if not 0 < value <= 3600:
                raise InputError(flag, value, "must be more than 0 and at most 3600 seconds")
            if self.method not in CHUNKED:
                raise InputError(
                    flag, value, f"paces chunked methods only ({', '.join(CHUNKED)}), not"
                    f" {self.method}"
                )
        if (self.target_lag_s is not None and self.max_lag_s is not None
                and self.max_lag_s < self.target_lag_s):
            raise InputError(
                "--max-lag", self.max_lag_s, f"is below --target-lag {self.target_lag_s:g}:"
                " the hard stop must be at or above the target"
            )

    @property
    def paced(self) -> bool:
        return self.target_lag_s is not None or self.chunk_time_s is not None


class CleanupJob(Job):
    HOLDS = True  # at each chunk boundary

    def __init__(self, spec: CleanupSpec, node: NodeSpec, group: str | None = None) -> None:
        spec.check()
        what = "dry run of " if spec.dry_run else ""
        super().__init__(
            kind="cleanup",
            title=f"{what}{spec.method} {spec.table} older than {spec.retention_days:g} d",
            cluster=spec.cluster.name,
            unit="rows",
            group=group,
        )
        self.spec = spec
        self.node = node
        self.result: dict[str, Any] | None = None
        self.chunks: list[dict[str, Any]] = []
        self.statements: list[str] = []  # what a dry run would send
        self.table: CleanupTable | None = None
        self.gauge: ClusterGauge | None = None
        self.throttle: Throttle | None = None
        self.pacer: Pacer | None = None
        self._last_chunk: tuple[int, float] = (0, 0.0)  # rows and seconds of the last chunk
        self.deleted = 0
        self.left_older = 0  # partition_drop: rows older than the cutoff in a kept partition
        # partition_drop: rows of tables an earlier, stopped run had detached, dropped now.
        self.leftover_rows = 0
        # batch_delete and copy fix the keys they may take at the start (the doomed set).
        self.older_at_start: int | None = None
        self.unfinished_copy: str | None = None  # what a failed copy left, said in its error
        self.deleted_by_others: int | None = None
        self.made_newer_by_others: int | None = None
        self.old_table: str | None = None

    # -- the run ---------------------------------------------------------------------------------

    def run(self) -> Sequence[tuple[str, str]]:
        spec = self.spec
        table = self.table = open_table(self.node, spec.table, spec.ts_column, spec.lock_wait_s)
        table.allow_blocking_detach = spec.allow_blocking_detach
        try:
            if spec.paced:
                self.pacer = Pacer(
                    spec.batch_size,
                    target_lag_s=spec.target_lag_s,
                    chunk_time_s=spec.chunk_time_s,
                )
            if not spec.dry_run:  # a dry run sends nothing but reads, not even heartbeats
                pause, abort = self._rules()
                self.gauge = ClusterGauge(
                    spec.cluster,
                    self.node.name,
                    heartbeat_interval=PACED_HEARTBEAT_S if spec.target_lag_s else None,
                    pause_rules=pause,
                    abort_rules=abort,
                ).start()
                self.throttle = Throttle(self.gauge, needs_lag=spec.target_lag_s is not None)
                # The rules are what must hold: a pause rule that fails pauses, an abort rule
                # that fails aborts (so `lag_s <= 1` reads "runs while lag_s <= 1").
                said = []
                if pause:
                    said.append(f"runs while {' and '.join(r.text for r in pause)}, else pauses")
                if abort:
                    said.append(f"aborts unless {' and '.join(r.text for r in abort)}")
                if said:
                    self.log("rules: " + "; ".join(said))
            return self._run(table)
        except DB_FAILURES as exc:
            # A server that died or went away mid-run: say where the run stopped, so the
            # operator knows what is done, what is not, and that a re-run finishes the job.
            raise OperationFailed(f"{error_text(exc)}; {self._where_it_stopped()}") from None
        finally:
            if self.gauge is not None:
                self.gauge.close()
            table.close()

    def _follow_replicas_to(self, ended_at: float) -> float | None:
        """Keep reading lag until the replicas have applied all the run wrote: seconds from
        `ended_at` until they had, or None (no replica, a lag unknown, or too long)."""
        if self.gauge is None:  # a dry run: it wrote nothing
            return None
        latest = self.gauge.latest
        if latest is not None and latest.lag_s is not None and latest.lag_s >= 0.5:
            self.log(f"waiting for the replicas to apply the run (lag {latest.lag_s:.1f} s)")
        applied = self.gauge.wait_applied(
            ended_at, REPLICA_TAIL_WAIT_S, cancelled=lambda: self.cancel_requested,
            seen_lag=lambda at, lag: self.record("lag_s", lag, at=at),  # the chart shows it too
        )
        if applied is None:
            latest = self.gauge.latest
            if latest is not None and latest.lag_unknown:
                self.log(f"replica lag after the run unknown: {latest.lag_unknown}")
            elif latest is not None and latest.lag_s is not None and not self.cancel_requested:
                self.log(f"the replicas had not applied the run {REPLICA_TAIL_WAIT_S:g} s after "
                         f"it ended (lag {latest.lag_s:.1f} s): max lag counts to there")
            return None
        behind = max(0.0, applied - ended_at)
        if behind >= 0.5:
            self.log(f"the replicas applied the run's last writes {behind:.1f} s after it ended")
        return behind

    def _where_it_stopped(self) -> str:
        method = self.spec.method
        if method == "copy":
            state = self.unfinished_copy or "the unfinished copy was not made yet"
            return f"nothing was swapped, {self.spec.table} is as it was; {state}"
        if method == "batch_delete":
            committed = f"{len(self.chunks)} chunk(s) committed, {self.deleted} row(s) deleted"
            if self.older_at_start is None:
                return f"{committed}; run it again to remove the rest"
            left = max(0, self.older_at_start - self.deleted)
            return (
                f"{committed}; about {left} of the {self.older_at_start} older rows remain "
                "(rows deleted by others meanwhile are among them): run it again to remove them"
            )
        if method == "partition_drop":
            return f"{len(self.chunks)} partition(s) dropped; run it again to drop the rest"
        return "TRUNCATE is one statement: it either happened whole or not at all"

    def _run(self, table: CleanupTable) -> Sequence[tuple[str, str]]:
        spec = self.spec
        now = table.server_now()
        cutoff = now - timedelta(days=spec.retention_days)
        high_water = table.high_water()
        rows_before = table.count_all()
        older = table.count_older(cutoff, high_water)
        kept_before = self._kept_keys(table, cutoff, high_water) if spec.verify_kept else None
        self.log(
            f"{table.shape_name} on {self.node.address}: {rows_before} rows, {older} older than "
            f"{cutoff:%Y-%m-%d %H:%M:%S} UTC (keys up to {high_water})"
        )
        self._preflight(table)
        fragmentation_before = self._fragmentation(table)
        position = table.log_position()
        to_do = rows_before if spec.method == "truncate" else older
        self.progress(0, float(to_do))
        started = time.monotonic()
        method = getattr(self, f"_{spec.method}")
        method(table, cutoff, high_water)
        duration = time.monotonic() - started
        caught_up_s = self._follow_replicas_to(time.time())
        rows_after = table.count_all()
        record = {
            "method": spec.method,
            "engine": self.node.engine,
            "cluster": spec.cluster.name,
            "table": table.shape_name,
            "dry_run": spec.dry_run,
            "cutoff": cutoff.isoformat(),
            "retention_days": spec.retention_days,
            "high_water_key": high_water,
            "rows_before": rows_before,
            "rows_older_at_start": older if self.older_at_start is None else self.older_at_start,
            # Rows older at the start that other sessions deleted, or made newer (so kept),
            # during the run: rows_deleted + these two == rows_older_at_start.
            "rows_deleted_by_others": self.deleted_by_others,
            "rows_made_newer_by_others": self.made_newer_by_others,
            # Never taken: a row written, or moved into the past, during the run.
            "rows_deleted_outside_start_set": 0 if self.older_at_start is not None else None,
            "rows_after": rows_after,
            "rows_deleted": self.deleted,
            "rows_left_older": self.left_older,
            "rows_dropped_for_an_earlier_run": self.leftover_rows,
            "duration_s": round(duration, 3),
            "rows_per_s": round(self.deleted / duration, 1) if duration > 0 else 0.0,
            "chunks": len(self.chunks),
            "chunk_rows": self.chunks,
            "batch_size": spec.batch_size if spec.method == "batch_delete" else None,
            "batch_delay_s": spec.batch_delay_s if spec.method == "batch_delete" else None,
            "max_lag_s": _round(self.gauge.max_lag_s if self.gauge else None),
            "mean_lag_s": _round(self.gauge.mean_lag_s if self.gauge else None),
            "p95_lag_s": _round(self.gauge.lag_percentile(95) if self.gauge else None),
            # From the run's end until every replica had applied it, to the gauge's 0.25 s and
            # the heartbeat's 0.2 s (the lag above counts to there); null with no replica, a
            # lag unknown, or past REPLICA_TAIL_WAIT_S.
            "replicas_caught_up_s": _round(caught_up_s),
            "target_lag_s": spec.target_lag_s,
            "chunk_time_s": spec.chunk_time_s,
            "pace": self._pace_record(),
            "pauses": self.throttle.pauses if self.throttle else 0,
            "paused_s": round(self.throttle.paused_s, 2) if self.throttle else 0.0,
            "held_s": round(self.held_s, 2),  # held by the operator (P, `job pause`)
            "log_bytes": table.log_bytes_since(position),
            "fragmentation_before": fragmentation_before,
            "fragmentation_after": None if spec.dry_run else self._fragmentation(table),
            "old_table": self.old_table,
        }
        if spec.dry_run:
            record["statements"] = self.statements
            record["rows_would_delete"] = to_do if spec.method != "partition_drop" else self.deleted
            record["rows_deleted"] = 0
        if kept_before is not None:
            kept_after = self._kept_keys(table, None, high_water)
            record["rows_lost"] = len(kept_before - kept_after)
        self.result = record
        return self.summary_pairs(record)

    def preflight(self) -> None:
        """The checks that make a bad request one line before anything starts: the table,
        its key and time column, and whether the method suits it."""
        spec = self.spec
        table = open_table(self.node, spec.table, spec.ts_column, spec.lock_wait_s)
        table.allow_blocking_detach = spec.allow_blocking_detach
        try:
            self._preflight(table)
        finally:
            table.close()

    def _preflight(self, table: CleanupTable) -> None:
        if self.spec.method == "partition_drop":
            table.partitions()  # refuses a table that is not RANGE-partitioned by its time
            if isinstance(table, PostgresCleanupTable):
                table.check_detach_allowed()
            return
        if self.spec.method != "copy":
            return
        if isinstance(table, PostgresCleanupTable):
            table.refuse_copy_of_hypertable()
            if table.partitioned:
                raise InputError(
                    "--method", "copy", f"{table.shape_name} is partitioned: use partition_drop"
                )
        referenced = table.referenced_by()
        if referenced:
            raise InputError(
                "--method",
                "copy",
                f"{table.shape_name} is referenced by a foreign key from {referenced}: "
                "a swapped-in copy would leave it pointing at the old table",
            )
        if table.exists(table.old_name) and not self.spec.dry_run:
            raise InputError(
                "--table",
                table.shape_name,
                f"{table.old_name} is left from an earlier copy: drop it first",
            )

    # -- the methods -----------------------------------------------------------------------------

    def _truncate(self, table: CleanupTable, cutoff: datetime, high_water: int) -> None:
        if self.spec.dry_run:
            self._plan(table.truncate_sql())
            return
        started = time.monotonic()
        self.deleted = table.truncate()
        self._chunk(self.deleted, started)
        self.progress(self.deleted)

    def _partition_drop(self, table: CleanupTable, cutoff: datetime, high_water: int) -> None:
        if isinstance(table, PostgresCleanupTable) and not table.hypertable:
            # A run stopped between its DETACH and its DROP left a detached table: finished now.
            for name in table.detached_leftovers():
                if self.spec.dry_run:
                    self._plan([f"DROP TABLE {name}"])
                    continue
                rows = table.drop_detached(name)
                self.leftover_rows += rows
                self.log(f"dropped {name}, detached by an earlier run stopped before its drop:"
                         f" {rows} rows")
        partitions = table.partitions()
        doomed = [p for p in partitions if p.wholly_before(cutoff)]
        straddling = next((p for p in partitions if not p.wholly_before(cutoff)), None)
        self.left_older = table.count_partition_older(straddling, cutoff) if straddling else 0
        self.log(
            f"{len(doomed)} of {len(partitions)} partitions wholly older than the cutoff; "
            f"{self.left_older} older rows stay in {straddling.name if straddling else '-'}"
        )
        if self.spec.dry_run:
            for partition in doomed:
                self._plan(table.drop_partition_sql(partition))
                self.deleted += table.count_partition(partition)
            return
        # The bar's total: the rows of the partitions to drop, not every older row (the
        # straddling partition's stay).
        self.progress(0, float(self.rows_older_in(table, cutoff) - self.left_older))
        done = 0
        for index, partition in enumerate(doomed):
            self._between_chunks(first=index == 0)
            started = time.monotonic()
            rows = table.drop_partition(partition, cutoff)
            self.deleted += rows
            done += rows
            self._chunk(rows, started, partition.name)
            self.progress(done)

    @staticmethod
    def rows_older_in(table: CleanupTable, cutoff: datetime) -> int:
        return int(table.one(table.fmt(table.sql.COUNT_OLDER_ALL), (table.stamp(cutoff),)))

    def _batch_delete(self, table: CleanupTable, cutoff: datetime, high_water: int) -> None:
        spec = self.spec
        table.use_doomed(temporary=True)  # this session's own: no other session reads it
        if spec.dry_run:
            self._plan(table.doomed_sql(cutoff, high_water))
            end = table.chunk_end(0, high_water, spec.batch_size, cutoff)
            if end is not None:
                self._plan([table.delete_doomed_chunk_sql(0, end, cutoff)])
                self.log(f"then the same for each further chunk of {spec.batch_size} doomed keys")
            return
        self._make_doomed(table, cutoff, high_water)
        last = 0
        index = 0
        try:
            while True:
                size = self._chunk_size()
                end = table.doomed_chunk_end(last, size)
                if end is None:
                    break
                self._between_chunks(first=index == 0)
                if self._chunk_size() != size:  # changed live, or paced, while it waited
                    end = table.doomed_chunk_end(last, self._chunk_size())
                    if end is None:
                        break
                started = time.monotonic()
                rows = table.delete_doomed_chunk(last, end, cutoff)
                self.deleted += rows
                self._chunk(rows, started)
                self.progress(self.deleted)
                last = end
                index += 1
            self._account(table, cutoff, table.table)
        finally:
            with contextlib.suppress(Exception):  # a TEMPORARY table: gone with the session
                table.drop_doomed()

    def _make_doomed(self, table: CleanupTable, cutoff: datetime, high_water: int) -> None:
        """Fix the rows this run may take: the keys older than the cutoff now."""
        self.older_at_start = table.make_doomed(cutoff, high_water)
        self.progress(0, float(self.older_at_start))
        self.log(f"{self.older_at_start} keys older than the cutoff fixed as the run's to remove")

    def _account(self, table: CleanupTable, cutoff: datetime, source: str) -> None:
        """What became of the doomed keys: removed by this run, deleted by others meanwhile,
        or made newer by others (and so kept). They add up to rows_older_at_start."""
        total, gone, newer = table.account_doomed(cutoff, source)
        if self.spec.method == "copy":
            # The old table is frozen: what is still in it and older is what the copy left.
            self.deleted = total - gone - newer
            self.deleted_by_others = gone
        else:
            # Still here: newer now, or older again after being newer when its chunk ran.
            self.deleted_by_others = gone - self.deleted
            newer = total - gone
        self.made_newer_by_others = newer
        if self.deleted_by_others or newer:
            self.log(
                f"meanwhile other sessions deleted {self.deleted_by_others} and made newer"
                f" {newer} of the rows older at the start"
            )

    def _copy(self, table: CleanupTable, cutoff: datetime, high_water: int) -> None:
        spec = self.spec
        table.use_doomed(temporary=False)  # the triggers, in other sessions, read it
        setup = table.copy_setup_sql(cutoff, high_water)
        if spec.dry_run:
            self._plan(table.doomed_sql(cutoff, high_water))
            self._plan(setup)
            first_end = table.chunk_end(0, high_water, spec.batch_size, None) or 0
            self._plan(table.copy_chunk_sql(0, first_end, cutoff, high_water))
            self.log(f"then the same for each further chunk of {spec.batch_size} rows")
            self.log("rows another session holds are skipped by a chunk and copied one by one"
                     " once they are free")
            self._plan(table.swap_sql())
            if table.SWAP_NOTE:
                self.log(table.SWAP_NOTE)
            if spec.drop_old:
                self._plan([table.drop_old_sql()])
            self.deleted = 0
            return
        leftovers = table.copy_leftovers()
        if leftovers:
            self.log(f"removing what an interrupted copy left: {', '.join(leftovers)}")
            table.copy_teardown()
        try:
            self._make_doomed(table, cutoff, high_water)
            for statement in setup:
                table.execute_step(statement)
            # Everything up to here exists in the old table; later rows reach the new one
            # through the triggers, and the copy below skips rows the triggers wrote.
            copy_end = table.high_water()
            last, copied, index = 0, 0, 0
            skipped: set[int] = set()
            while True:
                size = self._chunk_size()
                end = table.chunk_end(last, copy_end, size, None)
                if end is None:
                    break
                self._between_chunks(first=index == 0)
                if self._chunk_size() != size:  # changed live, or paced, while it waited
                    end = table.chunk_end(last, copy_end, self._chunk_size(), None)
                    if end is None:
                        break
                started = time.monotonic()
                rows = table.copy_chunk(last, end, cutoff, high_water)
                skipped.update(table.uncopied_keys(last, end, cutoff, high_water))
                copied += rows
                self._chunk(rows, started)
                self.progress(min(copied, self.total or copied))
                last = end
                index += 1
            self._copy_skipped(table, skipped, cutoff, high_water)
            self.check_cancelled()
            self.log("swapping the copy in")
            table.swap()
        except BaseException:
            # Before the swap the original table is untouched: take away the copy and its
            # triggers, and the table is as it was.
            self.unfinished_copy = (
                f"the unfinished copy ({table.new_name}, its triggers and key list) is left: "
                "the next run removes it first"
            )
            try:
                if table.exists(table.new_name) or table.copy_leftovers():
                    table.copy_teardown()
                self.unfinished_copy = "the unfinished copy was removed"
            except Exception as exc:  # report, but the first error is the one that matters
                self.log(f"could not remove the unfinished copy (the next run does): {exc}")
            raise
        # The old table no longer changes: of the doomed rows, those still in it and still older
        # are the ones the copy left behind - removed.
        self._account(table, cutoff, table.qualified(table.old_name))
        self.progress(self.deleted, float(self.deleted))
        table.drop_doomed()
        if spec.drop_old:
            table.execute(table.drop_old_sql())
            self.log(f"dropped {table.old_name}")
        else:
            self.old_table = f"{table.schema}.{table.old_name}"
            self.log(f"the old table is kept as {self.old_table}: drop it when satisfied")

    def _copy_skipped(
        self, table: CleanupTable, keys: set[int], cutoff: datetime, high_water: int
    ) -> None:
        """Copy the rows the chunks skipped because another transaction held them. Most were
        written into the copy by the triggers when that transaction committed; the rest (a
        transaction that rolled back, or only locked the row) are copied one at a time, each
        waiting for its row alone. A row held longer than the patience below fails the run
        (the copy is removed and the table is as it was) rather than waiting for ever."""
        if not keys:
            return
        self.log(f"{len(keys)} rows were held by other sessions when their chunk ran")
        patience = 10 * self.spec.lock_wait_s
        deadline = time.monotonic() + patience
        left = sorted(keys)
        while True:
            left = [k for k in left if table.uncopied_keys(k - 1, k, cutoff, high_water)]
            if not left:
                self.log("every skipped row is in the copy")
                return
            if time.monotonic() > deadline:
                raise LockedRows(
                    f"{len(left)} rows of {table.shape_name} (first key {left[0]}) stayed locked"
                    f" by other sessions for {patience:.0f} s; the table is as it was: run"
                    " the copy again once they are released"
                )
            for key in left:
                self.check_cancelled()
                if time.monotonic() > deadline:
                    break  # the check above the loop says which rows and fails the run
                try:
                    table.copy_key(key, cutoff, high_water)
                except Exception as exc:
                    if not is_lock_conflict(exc):
                        raise
                    self.log(f"row {key} is still held by another session: waiting")

    # -- shared steps ----------------------------------------------------------------------------

    def _between_chunks(self, *, first: bool) -> None:
        """The only points a run stops at: after a whole chunk, before the next."""
        sentinel = self.spec.sentinel
        if sentinel and os.path.exists(sentinel):
            self.log(f"sentinel {sentinel} exists: stopping at this chunk boundary")
            self.cancel()
        self.check_cancelled()
        self.hold_while_paused()
        if not first:
            delay = self.spec.batch_delay_s
            if self.pacer is not None and self.spec.target_lag_s is not None:
                delay = self.pacer.delay_after(*self._last_chunk)  # the paced rate's pause
            if delay:
                self.wait(delay)
        assert self.throttle is not None
        before = self.throttle.pauses
        self.throttle.wait_until_clear(cancelled=lambda: self.cancel_requested, say=self.log)
        if self.throttle.pauses != before:
            self.record("pauses", float(self.throttle.pauses))
        self.check_cancelled()
        self._observe()

    def _rules(self) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        spec = self.spec
        return run_rules(max_lag_s=spec.max_lag_s, max_load=spec.max_load,
                         critical_load=spec.critical_load,
                         cluster=spec.cluster if spec.gate else None)

    def _chunk_size(self) -> int:
        return self.pacer.chunk_rows() if self.pacer is not None else self.spec.batch_size

    def _observe(self) -> None:
        """Hand the pacer the newest lag reading (each once; it ignores repeats)."""
        if self.pacer is None or self.gauge is None:
            return
        reading = self.gauge.latest
        if reading is not None and reading.lag_unknown is None:
            self.pacer.observe(reading.at, reading.lag_s)
        self.set_current(self.pacer.state().line())

    def _pace_record(self) -> dict[str, Any] | None:
        if self.pacer is None:
            return None
        state = self.pacer.state()
        return {
            "mode": state.mode,
            "last_chunk_rows": state.chunk_rows,
            "rate_rows_s": _round(state.rate_rows_s, 0),
            "primary_rows_s": _round(state.primary_rows_s, 0),
            "replica_rows_s": _round(state.replica_rows_s, 0),
        }

    # -- live changes -------------------------------------------------------------------------

    LIVE = ("batch_size", "batch_delay_s", "max_lag_s", "target_lag_s", "chunk_time_s")
    OPTIONAL = ("max_lag_s", "target_lag_s", "chunk_time_s")  # "off" turns these off

    def live_settings(self) -> tuple[tuple[str, str], ...]:
        spec = self.spec
        pairs = [
            ("batch_size", str(spec.batch_size)),
            ("batch_delay_s", f"{spec.batch_delay_s:g}"),
            ("max_lag_s", _off(spec.max_lag_s)),
        ]
        if spec.method in CHUNKED:
            pairs += [("target_lag_s", _off(spec.target_lag_s)),
                      ("chunk_time_s", _off(spec.chunk_time_s))]
        return tuple(pairs)

    def change(self, key: str, value: str) -> str:
        """A setting of LIVE (the optional ones take "off"), from the next chunk on."""
        if key not in dict(self.live_settings()):
            names = ", ".join(k for k, _ in self.live_settings())
            raise InputError(key, value, f"must be one of {names}")
        try:
            if key == "batch_size":
                number: float | None = int(value)
            else:
                number = None if value.strip().lower() == "off" else float(value)
        except ValueError:
            raise InputError(key, value, "must be a number") from None
        if number is None and key not in self.OPTIONAL:
            raise InputError(key, value, "must be a number (only a limit can be off)")
        new = replace(self.spec, **{key: number})  # type: ignore[arg-type]
        try:
            new.check()
        except InputError as exc:  # said with the name the operator typed, not the flag's
            raise InputError(key, value, exc.problem) from None
        old = dict(self.live_settings())[key]
        self.spec = new
        self._apply_change(key)
        line = f"{key} {old} -> {dict(self.live_settings())[key]} (changed by the operator)"
        self.log(line)
        return line

    def _apply_change(self, key: str) -> None:
        spec = self.spec
        if key == "max_lag_s" and self.gauge is not None:
            self.gauge.set_rules(*self._rules())
        if key == "target_lag_s" and self.throttle is not None:
            self.throttle.needs_lag = spec.target_lag_s is not None
        if key in ("batch_size", "target_lag_s", "chunk_time_s"):
            if not spec.paced:
                self.pacer = None
                self.set_current(None)
            elif self.pacer is None:
                self.pacer = Pacer(spec.batch_size, target_lag_s=spec.target_lag_s,
                                   chunk_time_s=spec.chunk_time_s)
            elif key == "batch_size":
                self.pacer.reset_chunk(spec.batch_size)
            elif key == "target_lag_s":
                self.pacer.set_target(spec.target_lag_s)
            else:
                self.pacer.chunk_time_s = spec.chunk_time_s

    def _chunk(self, rows: int, started: float, name: str | None = None) -> None:
        seconds = time.monotonic() - started
        self._last_chunk = (rows, seconds)
        if self.pacer is not None:
            self.pacer.committed(rows, seconds, time.time())
            self.record("chunk_rows", float(rows))
            self._observe()
        reading = self.gauge.latest if self.gauge else None
        lag = reading.lag_s if reading else None
        self.chunks.append(
            {
                "chunk": len(self.chunks) + 1,
                "rows": rows,
                "seconds": round(seconds, 4),
                "lag_s": _round(lag),
                **({"partition": name} if name else {}),
            }
        )
        if lag is not None:
            self.record("lag_s", lag)
        self.record("rows_per_s", rows / seconds if seconds > 0 else 0.0)

    def _plan(self, statements: Sequence[str]) -> None:
        for statement in statements:
            text = " ".join(statement.split())
            self.statements.append(text)
            self.log(f"would run: {text}")

    def _fragmentation(self, table: CleanupTable) -> float | None:
        try:
            return _round(table.fragmentation(refresh=not self.spec.dry_run), 4)
        except Exception as exc:  # a figure for the record, never a reason to fail the run
            self.log(f"fragmentation unreadable: {' '.join(str(exc).split())}")
            return None

    def _kept_keys(self, table: CleanupTable, cutoff: datetime | None, high_water: int) -> set[int]:
        statement = f"SELECT {table.key} FROM {table.table} WHERE {table.key} <= %s"
        args: list[Any] = [high_water]
        if cutoff is not None:
            statement += f" AND {table.ts} >= %s"
            args.append(table.stamp(cutoff))
        return {int(r[0]) for r in table.rows(statement, args)}

    @staticmethod
    def summary_pairs(record: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        if record["dry_run"]:  # it sent nothing: what it found, not a rate of 0
            would = int(record["rows_would_delete"])
            said = [("would delete", str(would))]
            batch = record["batch_size"]
            if batch:  # batch_delete: its log shows the first chunk's DELETE, "then the same"
                said.append(("chunks", f"{-(-would // batch)} of {batch:,}"))
            return tuple(said)
        pairs = [
            ("deleted", str(record["rows_deleted"])),
            ("rows/s", f"{record['rows_per_s']:,.0f}"),
            ("max lag", f"{record['max_lag_s']}s" if record["max_lag_s"] is not None else "-"),
            ("pauses", str(record["pauses"])),
        ]
        if record.get("held_s"):
            pairs.append(("held", f"{record['held_s']:.0f}s"))
        if record.get("rows_lost") is not None:
            pairs.append(("lost", str(record["rows_lost"])))
        return tuple(pairs)


def _round(value: float | None, digits: int = 3) -> float | None:
    return round(value, digits) if value is not None else None


def _off(value: float | None) -> str:
    return "off" if value is None else f"{value:g}"
