"""Isolate a hot tenant: the value of the distribution column that makes one shard larger than
a worker's fair share (where no rebalance strategy can even the bytes out) gets a shard of its
own (isolate_tenant_to_new_shard, CASCADE to its colocated tables), which then moves to the
emptiest worker (citus_move_shard_placement).

The plan prices it before anything changes: the tenant's bytes are its share of its shard's
row bytes applied to the shard group's bytes on disk, and the skew afterwards is those bytes taken from
the source worker and given to the target. A cancel is sent to the statement under way
(pg_cancel_backend of the job's own connection); Citus rolls the split or the move back and
cleans up what it had copied, so every row stays where it was or where it went, never in
between."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql as pgsql

from clustertop.actions.jobs import Job
from clustertop.actions.rebalance import (
    check_citus_change,
    connect,
    coordinator,
    read_citus_state,
)
from clustertop.actions.sql import postgres as sql
from clustertop.collectors.errors import close_quietly
from clustertop.collectors.samples import CitusSample, skew
from clustertop.core.config import ClusterConfig
from clustertop.core.errors import InputError, OperationFailed
from clustertop.core.units import iec

CANCEL_CHECK_S = 0.2


@dataclass(frozen=True)
class IsolateSpec:
    cluster: ClusterConfig
    table: str | None = None  # a hash-distributed table; None: the one of the hottest shard
    tenant: str | None = None  # a value of its distribution column; None: the shard's biggest
    target: str | None = None  # HOST:PORT of a worker; None: the emptiest other worker
    transfer_mode: str = "auto"

    def check(self) -> None:
        check_citus_change(self.cluster, self.transfer_mode)
        if self.target is not None:
            host, _, port = self.target.rpartition(":")
            if not host or not port.isdigit():
                raise InputError("--to", self.target, "must be HOST:PORT of a worker")


@dataclass(frozen=True)
class Share:
    """A tenant's part of its shard, in rows and in the bytes of those rows."""

    tenant_rows: int
    shard_rows: int
    tenant_row_bytes: int
    shard_row_bytes: int

    def of(self, group_bytes: int) -> int:
        """The tenant's part of the shard group's bytes on disk: its share of the row bytes
        (a tenant of wide rows holds more than its share of rows)."""
        if self.shard_row_bytes:
            return round(group_bytes * self.tenant_row_bytes / self.shard_row_bytes)
        return round(group_bytes * self.tenant_rows / self.shard_rows) if self.shard_rows else 0


@dataclass(frozen=True)
class IsolationPlan:
    table: str
    column: str
    tenant: str
    shard_id: int  # the shard the tenant lives in now
    source: str
    target: str | None  # None: the tenant's new shard stays where it is
    already_isolated: bool  # the shard holds this tenant alone: only a move is left
    tenant_rows: int
    shard_rows: int
    group_bytes: int  # the shard and its colocated shards, today
    tenant_bytes: int  # predicted: the tenant's share of the shard's rows, of those bytes
    bytes_before: tuple[tuple[str, int], ...]
    bytes_after: tuple[tuple[str, int], ...]
    skew_before: float | None
    skew_after: float | None
    statements: tuple[str, ...]  # the exact SQL the job runs, in order
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in self.__dict__.items() if k not in ("bytes_before", "bytes_after")},
            "bytes_before": dict(self.bytes_before),
            "bytes_after": dict(self.bytes_after),
            "statements": list(self.statements),
            "warnings": list(self.warnings),
        }

    def lines(self) -> list[str]:
        """The plan as an operator reads it, the SQL last (what a dry run prints)."""
        share = self.tenant_rows / self.shard_rows if self.shard_rows else 0.0
        where = f"-> {self.target}" if self.target else "(stays on its worker)"
        lines = [
            f"tenant {self.tenant} of {self.table} ({self.column}): shard {self.shard_id} on "
            f"{self.source}, {self.tenant_rows:,} of its {self.shard_rows:,} rows ({share:.0%})",
            f"isolate {iec(self.tenant_bytes)} (predicted, of the group's "
            f"{iec(self.group_bytes)}) {where}; bytes skew {_pct(self.skew_before)} -> "
            f"{_pct(self.skew_after)} expected",
            "bytes per worker now: " + ", ".join(f"{k} {iec(v)}" for k, v in self.bytes_before),
            "expected after:       " + ", ".join(f"{k} {iec(v)}" for k, v in self.bytes_after),
        ]
        lines += [f"warning: {w}" for w in self.warnings]
        return [*lines, "SQL:", *(f"  {s};" for s in self.statements)]


def _pct(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "-"


def _holders(state: CitusSample) -> dict[str, int]:
    return {
        w.node: w.bytes or 0
        for w in state.workers
        if w.active and w.should_have_shards and w.role == "primary"
    }


def make_isolation_plan(conn: psycopg.Connection[Any], spec: IsolateSpec) -> IsolationPlan:
    state = read_citus_state(conn)
    if state.bytes_unknown_on:
        raise OperationFailed(
            f"shard sizes are unknown on {', '.join(state.bytes_unknown_on)} (not answering "
            "the coordinator): no isolation can be priced until it does"
        )
    table = _table(conn, spec.table, state)
    column, column_type = _column(conn, table)
    if spec.tenant is None:
        low, high = _hash_range_of_hottest(conn, table)
        tenant, share = _biggest_tenant(conn, table, column, low, high)
    else:
        tenant = spec.tenant
    value = pgsql.SQL("CAST({} AS {})").format(pgsql.Literal(tenant), pgsql.SQL(column_type))
    try:
        with conn.transaction():
            row = conn.execute(
                pgsql.SQL(
                    "SELECT p.shardid, p.shardminvalue::int, p.shardmaxvalue::int, {v}::text"
                    "  FROM pg_dist_shard p"
                    " WHERE p.shardid = get_shard_id_for_distribution_column({t}::regclass, {v})"
                ).format(v=value, t=pgsql.Literal(table))
            ).fetchone()
    except psycopg.Error as exc:
        raise InputError("--tenant", tenant, f"is not a value of {column} ({column_type})") from exc
    assert row is not None
    shard_id, low, high, tenant = int(row[0]), int(row[1]), int(row[2]), str(row[3])
    if spec.tenant is not None:
        share = _rows_in_range(conn, table, column, value, low, high)
        if share.tenant_rows == 0:
            raise InputError("--tenant", tenant, f"has no rows in {table}")
    source, group_bytes = _group(conn, shard_id)
    before = _holders(state)
    if source not in before:
        before[source] = group_bytes
    tenant_bytes = share.of(group_bytes)
    target = _target(spec, before, source, tenant_bytes)
    after = dict(before)
    if target is not None:
        after[source] -= tenant_bytes
        after[target] = after.get(target, 0) + tenant_bytes
    already = low == high
    literal_table = pgsql.Literal(table)
    statements = []
    if not already:
        statements.append(
            pgsql.SQL(
                "SELECT isolate_tenant_to_new_shard({t}, {v}, 'CASCADE', "
                "shard_transfer_mode => {m}::citus.shard_transfer_mode)"
            ).format(t=literal_table, v=value, m=pgsql.Literal(spec.transfer_mode))
        )
    if target is not None:
        source_host, _, source_port = source.rpartition(":")
        target_host, _, target_port = target.rpartition(":")
        statements.append(
            pgsql.SQL(
                "SELECT citus_move_shard_placement(get_shard_id_for_distribution_column({t}, {v}),"
                " {sh}, {sp}, {th}, {tp}, shard_transfer_mode => {m}::citus.shard_transfer_mode)"
            ).format(
                t=literal_table,
                v=value,
                sh=pgsql.Literal(source_host),
                sp=pgsql.Literal(int(source_port)),
                th=pgsql.Literal(target_host),
                tp=pgsql.Literal(int(target_port)),
                m=pgsql.Literal(spec.transfer_mode),
            )
        )
    warnings = []
    fair = sum(before.values()) / len(before) if before else 0.0
    if fair and tenant_bytes > fair:
        warnings.append(
            f"the tenant alone ({iec(tenant_bytes)}) is larger than a worker's fair share "
            f"({iec(int(fair))}): the worker that takes it stays the biggest"
        )
    if target is None and spec.target is None:
        warnings.append(
            f"moving the tenant off {source} would not lower the skew: it is isolated in place"
        )
    return IsolationPlan(
        table=table,
        column=column,
        tenant=tenant,
        shard_id=shard_id,
        source=source,
        target=target,
        already_isolated=already,
        tenant_rows=share.tenant_rows,
        shard_rows=share.shard_rows,
        group_bytes=group_bytes,
        tenant_bytes=tenant_bytes,
        bytes_before=tuple(sorted(before.items())),
        bytes_after=tuple(sorted(after.items())),
        skew_before=skew(list(before.values())) if before else None,
        skew_after=skew(list(after.values())) if after else None,
        statements=tuple(s.as_string(conn) for s in statements),
        warnings=tuple(warnings),
    )


def _table(conn: psycopg.Connection[Any], name: str | None, state: CitusSample) -> str:
    """The table's name as the server prints it; the hottest shard's table when unnamed."""
    if name is None:
        hot = [s for s in state.hot_shards if s.bytes]
        if not hot:
            raise OperationFailed("no distributed shard holds any bytes: nothing to isolate")
        return hot[0].table
    try:
        row = conn.execute(sql.CITUS_HASH_TABLE, (name,)).fetchone()
    except psycopg.Error as exc:  # not even a name (to_regclass rejects the syntax)
        raise InputError("--table", name, "is not a table name") from exc
    if row is None or row[0] is None:
        raise InputError("--table", name, "is not a table of this database")
    if not row[1]:
        raise InputError("--table", name, "is not a hash-distributed Citus table")
    return str(row[0])


def _column(conn: psycopg.Connection[Any], table: str) -> tuple[str, str]:
    row = conn.execute(sql.DISTRIBUTION_COLUMN, (table,)).fetchone()
    if row is None:
        raise InputError("--table", table, "is not a hash-distributed Citus table")
    return str(row[0]), str(row[1])


def _hash_range_of_hottest(conn: psycopg.Connection[Any], table: str) -> tuple[int, int]:
    row = conn.execute(sql.HOTTEST_SHARD_RANGE, (table,)).fetchone()
    if row is None:
        raise OperationFailed(f"{table} has no shards")
    return int(row[0]), int(row[1])


def _biggest_tenant(
    conn: psycopg.Connection[Any], table: str, column: str, low: int, high: int
) -> tuple[str, Share]:
    """The value with the most row bytes in the shard's hash range (a scan of that range: run for
    a plan, never by the monitor)."""
    row = conn.execute(
        pgsql.SQL(
            "SELECT {c}::text, count(*), sum(count(*)) OVER (),"
            "       sum(pg_column_size(x.*)), sum(sum(pg_column_size(x.*))) OVER ()"
            "  FROM {t} x WHERE worker_hash({c}) BETWEEN %s AND %s"
            " GROUP BY 1 ORDER BY 4 DESC LIMIT 1"
        ).format(c=pgsql.Identifier(column), t=pgsql.SQL(table)),
        (low, high),
    ).fetchone()
    if row is None:
        raise OperationFailed(f"the hottest shard of {table} holds no rows: nothing to isolate")
    return str(row[0]), Share(int(row[1]), int(row[2]), int(row[3]), int(row[4]))


def _rows_in_range(
    conn: psycopg.Connection[Any],
    table: str,
    column: str,
    value: pgsql.Composable,
    low: int,
    high: int,
) -> Share:
    row = conn.execute(
        pgsql.SQL(
            "SELECT count(*) FILTER (WHERE {c} = {v}), count(*),"
            "       coalesce(sum(pg_column_size(x.*)) FILTER (WHERE {c} = {v}), 0),"
            "       coalesce(sum(pg_column_size(x.*)), 0)"
            "  FROM {t} x WHERE worker_hash({c}) BETWEEN %s AND %s"
        ).format(c=pgsql.Identifier(column), v=value, t=pgsql.SQL(table)),
        (low, high),
    ).fetchone()
    assert row is not None
    return Share(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def _group(conn: psycopg.Connection[Any], shard_id: int) -> tuple[str, int]:
    row = conn.execute(sql.SHARD_GROUP_BYTES, (shard_id,)).fetchone()
    if row is None or row[0] is None:
        raise OperationFailed(f"shard {shard_id} has no placement citus_shards knows")
    if row[2] is None:
        raise OperationFailed(f"the size of shard {shard_id} on {row[0]}:{row[1]} is unknown")
    return f"{row[0]}:{row[1]}", int(row[2])


def _target(
    spec: IsolateSpec, before: dict[str, int], source: str, tenant_bytes: int
) -> str | None:
    if spec.target is not None:
        if spec.target not in before:
            known = ", ".join(sorted(before))
            raise InputError("--to", spec.target, f"is not a worker holding shards ({known})")
        return None if spec.target == source else spec.target
    others = {k: v for k, v in before.items() if k != source}
    if not others:
        return None
    emptiest = min(others, key=lambda k: (others[k], k))
    stay = dict(before)
    moved = dict(before)
    moved[source] -= tenant_bytes
    moved[emptiest] += tenant_bytes
    better = (skew(list(moved.values())) or 0.0) < (skew(list(stay.values())) or 0.0)
    return emptiest if better else None


def isolation_plan_for(spec: IsolateSpec) -> IsolationPlan:
    spec.check()
    conn = connect(coordinator(spec.cluster))
    try:
        return make_isolation_plan(conn, spec)
    finally:
        close_quietly(conn)


def _why(exc: psycopg.Error) -> str:
    text = " ".join(str(exc).split())
    if "may not be used as an output plugin" in text:
        return (
            f"{text} (this PostgreSQL lets only output_plugin_libraries decode: add citus to it"
            " on every node, or use --transfer-mode block_writes)"
        )
    return text


@dataclass(frozen=True)
class _Step:
    name: str
    statement: str


class IsolateJob(Job):
    """The plan's statements one by one on the coordinator, each cancellable while it runs."""

    def __init__(self, spec: IsolateSpec, plan: IsolationPlan | None = None) -> None:
        spec.check()
        what = f"tenant {spec.tenant}" if spec.tenant else "hottest tenant"
        if plan is not None:
            what = f"tenant {plan.tenant} of {plan.table}"
        super().__init__(kind="isolate", title=what, cluster=spec.cluster.name, unit="steps")
        self.spec = spec
        self.plan = plan
        self.result: dict[str, Any] | None = None

    def run(self) -> Sequence[tuple[str, str]]:
        conn = connect(coordinator(self.spec.cluster))
        started = time.monotonic()
        try:
            plan = self._fresh_plan(conn)
            before = read_citus_state(conn)
            for line in plan.lines():
                self.log(line)
            steps = [
                _Step("isolate" if "isolate_tenant" in s else "move", s) for s in plan.statements
            ]
            self.progress(0.0, float(len(steps)))
            new_shard: int | None = None
            conn.execute("SET statement_timeout = 0")  # a copy takes as long as it takes
            for done, step in enumerate(steps):
                self.check_cancelled()  # between steps the tenant is whole on one worker
                self.log(f"{step.name}: {step.statement}")
                self.set_current(
                    f"step {done + 1}/{len(steps)}: isolating tenant {plan.tenant} in a shard "
                    f"of its own on {plan.source}"
                    if step.name == "isolate"
                    else f"step {done + 1}/{len(steps)}: moving tenant {plan.tenant}'s shard "
                    f"{plan.source} -> {plan.target} ({iec(plan.tenant_bytes)})"
                )
                with self._cancel_on_request(conn):
                    try:
                        row = conn.execute(step.statement).fetchone()
                    except psycopg.errors.QueryCanceled:
                        raise
                    except psycopg.Error as exc:
                        raise OperationFailed(f"{step.name} failed: {_why(exc)}") from exc
                if step.name == "isolate" and row is not None:
                    new_shard = int(row[0])
                    self.log(f"tenant {plan.tenant} now has shard {new_shard}")
                self.progress(float(done + 1))
            after = read_citus_state(conn)
        finally:
            close_quietly(conn)
        self.result = {
            "table": plan.table,
            "tenant": plan.tenant,
            "new_shard": new_shard,
            "source": plan.source,
            "target": plan.target,
            "tenant_bytes_predicted": plan.tenant_bytes,
            "skew_before": before.skew,
            "skew_predicted": plan.skew_after,
            "skew_after": after.skew,
            "bytes_by_worker_before": {w.node: w.bytes for w in before.workers},
            "bytes_by_worker_after": {w.node: w.bytes for w in after.workers},
            "duration_s": round(time.monotonic() - started, 2),
        }
        return (
            ("tenant", f"{plan.tenant} of {plan.table}"),
            ("shard", f"{plan.shard_id} -> {new_shard or plan.shard_id}"),
            ("moved", f"{plan.source} -> {plan.target}" if plan.target else "stayed"),
            ("skew", f"{_pct(before.skew)} -> {_pct(after.skew)} "
                     f"(predicted {_pct(plan.skew_after)})"),
        )

    def _fresh_plan(self, conn: psycopg.Connection[Any]) -> IsolationPlan:
        """The plan again on today's state: what was confirmed must still be what runs."""
        fresh = make_isolation_plan(conn, self.spec)
        old = self.plan
        if old is not None and (old.tenant, old.shard_id, old.source, old.target) != (
            fresh.tenant, fresh.shard_id, fresh.source, fresh.target
        ):
            raise OperationFailed(
                f"the cluster changed since the plan (tenant {old.tenant} in shard "
                f"{old.shard_id} on {old.source}, now shard {fresh.shard_id} on {fresh.source}):"
                " plan again"
            )
        self.plan = fresh
        return fresh

    @contextmanager
    def _cancel_on_request(self, conn: psycopg.Connection[Any]) -> Iterator[None]:
        """While a statement runs, a cancel of the job cancels the statement on the server."""
        finished = threading.Event()

        def watch() -> None:
            while not finished.wait(CANCEL_CHECK_S):
                if self.cancel_requested:
                    conn.cancel_safe()
                    return

        watcher = threading.Thread(target=watch, name=f"job-{self.id}-cancel", daemon=True)
        watcher.start()
        try:
            yield
        except psycopg.errors.QueryCanceled as exc:
            if self.cancel_requested:
                self.log("cancelled on the server: Citus rolled the step back")
                self.check_cancelled()
            raise OperationFailed(f"cancelled by the server: {exc}") from exc
        finally:
            finished.set()
            watcher.join()
