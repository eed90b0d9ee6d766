"""Reading a PostgreSQL (or Citus) node: status, replication, counters, slower details."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import psycopg

from clustertop.collectors.citus import read_citus
from clustertop.collectors.connect import APPLICATION_NAME
from clustertop.collectors.errors import error_text, is_missing_privilege, unknown_for
from clustertop.collectors.heartbeat import split_table, system_identifier
from clustertop.collectors.own import OwnActivity
from clustertop.collectors.samples import (
    DetailSample,
    NodeReading,
    PartitionSample,
    ReplicationSample,
    ServerStatus,
    SlotSample,
    StatementsSample,
    TableSample,
    TimescaleJobSample,
    TimescaleSample,
    WalSenderSample,
    skew,
)
from clustertop.collectors.sessions import (
    SESSIONS_CAP,
    ProgressSample,
    SessionSample,
    SessionsSample,
    build_sessions_sample,
    is_ddl,
    mask_literals,
    shown_statement,
)
from clustertop.collectors.sql import postgres as sql
from clustertop.collectors.sql import timescale as ts_sql
from clustertop.core.text import printable

EXACT_COUNT_LIMIT = 200_000
MIN_ROW_BYTES = 32  # a heap tuple's header and pointer, before any column
TOP_STATEMENTS = 10
READ_FOR_TOP = 4  # statements read per one shown (monitoring ones are dropped)
LARGEST_TABLES = 10


def _f(value: Any) -> float | None:
    return float(value) if value is not None else None


def _i(value: Any) -> int | None:
    return int(value) if value is not None else None


# Table readings of a leaf that has not changed are reused at most this long.
BLOAT_MAX_AGE_S = 60.0


class PostgresCollector:
    show_literals = False  # statements of sessions with their literals (else masked)
    read_sessions = True  # the sessions with every poll (PollTarget.read_sessions)

    def __init__(self, heartbeat_table: str | None = None) -> None:
        self.heartbeat_table = heartbeat_table
        # Our own statements and transactions: each counts in the server's figures.
        self.activity = OwnActivity()
        self._system_id: int | None = None
        self._has: dict[str, bool] = {}
        self._reads_all_stats: bool | None = None  # as of the last round
        self._heartbeat_table_seen = False
        self._texts_unreadable = False  # pg_stat_statements' texts failed to read once
        # pgstattuple_approx per leaf, kept while the leaf has not changed (see _bloat).
        self._bloat: dict[int, tuple[tuple[Any, ...], float, tuple[int, int]]] = {}
        self._counts: dict[tuple[str, str], tuple[tuple[Any, ...], float, dict[str, int]]] = {}

    @property
    def queries(self) -> int:
        return self.activity.total("queries")

    def _execute(self, conn: psycopg.Connection[Any], statement: str, args: Any = None) -> Any:
        self.activity.add("queries")
        if conn.autocommit and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            self.activity.add("transactions")  # outside BEGIN, a statement is a transaction
        return conn.execute(statement, args)

    def has_extension(self, conn: psycopg.Connection[Any], name: str) -> bool:
        if name not in self._has:
            self._has[name] = bool(self._execute(conn, sql.HAS_EXTENSION, (name,)).fetchone())
        return self._has[name]

    def citus_role(self, conn: psycopg.Connection[Any]) -> str | None:
        if not self.has_extension(conn, "citus"):
            return None
        group = self._execute(conn, sql.CITUS_GROUP).fetchone()
        return "coordinator" if group and group[0] == 0 else "worker"

    # -- every round ------------------------------------------------------------------------

    def read(self, conn: psycopg.Connection[Any]) -> NodeReading:
        # One transaction per round: one commit of ours in the counters, one stats snapshot.
        self.activity.add("transactions")
        self.activity.add("queries", 2)  # BEGIN and COMMIT, which pg_stat_statements counts
        with conn.transaction():
            started = time.perf_counter()
            self._execute(conn, sql.PROBE).fetchone()
            probe_ms = (time.perf_counter() - started) * 1000
            row = self._execute(conn, sql.NODE).fetchone()
            assert row is not None
            version, in_recovery, uptime, connections, max_connections, active, _db, stats = row
            # Without pg_read_all_stats (pg_monitor has it) the server shows the WAL receiver
            # and senders of other users as a pid with every other column NULL.
            self._reads_all_stats = bool(stats)
            unknown = () if stats else (
                unknown_for("replication (state, lag)", "pg_monitor TO the monitoring user"),
            )
            counters = self._execute(conn, sql.COUNTERS).fetchone()
            assert counters is not None
            xacts, hits, reads, rows_read, inserted, updated, deleted, _reset, rollbacks = counters
            wal = self._execute(conn, sql.WAL_POSITION).fetchone()
            calls = None
            if self.has_extension(conn, "pg_stat_statements"):
                calls_row = self._execute(conn, sql.STATEMENT_CALLS).fetchone()
                calls = _f(calls_row[0]) if calls_row else None
            if self._system_id is None:
                self._system_id = system_identifier(conn)
            replication: tuple[ReplicationSample, ...] = ()
            senders: tuple[WalSenderSample, ...] = ()
            slots: tuple[SlotSample, ...] = ()
            if in_recovery:
                role = "standby"
                replication = (self._standby(conn, stats),)
            else:
                role = self.citus_role(conn) or "primary"
                senders = tuple(
                    WalSenderSample(
                        r[0],
                        r[1],
                        r[2],
                        r[3],
                        _i(r[4]),
                        _i(r[5]),
                        _i(r[6]),
                        _i(r[7]),
                        _f(r[8]),
                        _f(r[9]),
                        _f(r[10]),
                    )
                    for r in self._execute(conn, sql.WAL_SENDERS).fetchall()
                ) if stats else ()
            slots = tuple(
                SlotSample(r[0], r[1], bool(r[2]), _i(r[3]))
                for r in self._execute(conn, sql.SLOTS).fetchall()
            )
            sessions = self._sessions(conn) if self.read_sessions else None
        return NodeReading(
            sessions=sessions,
            status=ServerStatus(
                version=f"PostgreSQL {version}",
                role=role,
                server_id=str(self._system_id),
                uptime_s=float(uptime),
                connections=int(connections),
                max_connections=int(max_connections),
                active=int(active),
                replication=replication,
                senders=senders,
                slots=slots,
                unknown=unknown,
            ),
            counters={
                "transactions": _f(xacts),
                "rollbacks": _f(rollbacks),
                "queries": calls,
                "rows_read": _f(rows_read),
                "rows_inserted": _f(inserted),
                "rows_updated": _f(updated),
                "rows_deleted": _f(deleted),
                "log_bytes": _f(wal[0]) if wal else None,
                "cache_requests": _f((hits or 0) + (reads or 0)),
                "cache_misses": _f(reads),
            },
            tps_source="pg_stat_database xact_commit+xact_rollback",
            probe_ms=probe_ms,
        )

    def sessions(self, conn: psycopg.Connection[Any]) -> SessionsSample:
        """The sessions alone, on a connection of the caller's (ending one: `clustertop kill`)."""
        return self._sessions(conn)

    def _sessions(self, conn: psycopg.Connection[Any]) -> SessionsSample:
        """Client sessions (worst first, capped), who blocks whom, long operations. In a
        savepoint of its own: a failure here leaves the round's other figures standing."""
        self.activity.add("queries", 2)  # SAVEPOINT and RELEASE
        try:
            with conn.transaction():
                rows = self._execute(conn, sql.SESSIONS, (SESSIONS_CAP,)).fetchall()
                progress_rows = self._execute(conn, sql.PROGRESS).fetchall()
        except psycopg.Error as exc:
            if conn.broken:
                raise
            return build_sessions_sample((), 0, notes=(f"sessions: {error_text(exc)}",))
        total = int(rows[0][16]) if rows else 0
        sessions = [self._session(r) for r in rows]
        progress = [
            ProgressSample(int(r[0]), str(r[1]), r[2], r[3], _f(r[4]), _f(r[5]), str(r[6]))
            for r in progress_rows
        ]
        notes = () if self._reads_all_stats is not False else (
            unknown_for("other users' sessions", "pg_monitor TO the monitoring user"),
        )
        return build_sessions_sample(sessions, total, progress, notes)

    def _session(self, r: Sequence[Any]) -> SessionSample:
        (pid, user, database, client, program, state, state_s, xact_s, wait_type, wait_event,
         query, blockers, locktype, mode, relation, wait_s, _total) = r
        lock = None
        if locktype is not None:
            what = {"transactionid": "row lock", "tuple": "row lock",
                    "relation": "table lock"}.get(locktype, f"{locktype} lock")
            lock = f"{what} ({mode})" + (f" on {relation}" if relation else "")
        return SessionSample(
            id=int(pid),
            user=user,
            database=database,
            client=client,
            state=state,
            state_s=_f(state_s),
            xact_s=_f(xact_s),
            wait=f"{wait_type}:{wait_event}" if wait_type else None,
            statement=shown_statement(query, "postgres", self.show_literals),
            own=(program or "").startswith(APPLICATION_NAME),
            program=printable(program) if program else None,
            blocked_by=tuple(int(b) for b in blockers or ()),
            lock=lock,
            wait_s=_f(wait_s),
            ddl=is_ddl(query) or mode == "AccessExclusiveLock",
        )

    def _standby(self, conn: psycopg.Connection[Any], can_see: bool = True) -> ReplicationSample:
        row = self._execute(conn, sql.STANDBY).fetchone()
        assert row is not None
        status, host, port, paused, lag, replay_lsn = row
        streaming = status == "streaming"
        sample = ReplicationSample(
            source=f"{host}:{port}" if host else None,
            # Hidden from a user without pg_read_all_stats: unknown, not "stopped".
            running=(streaming and not paused) if can_see else None,
            io_running=(status or "stopped") if can_see else None,
            sql_running="paused" if paused else "replaying",
            # While paused, the delay figure no longer tells how far behind replay is.
            engine_lag_s=float(lag) if lag is not None and streaming and not paused else None,
            position=replay_lsn,
        )
        if not self.heartbeat_table:
            return sample
        schema, table = split_table(self.heartbeat_table)
        if not self._heartbeat_table_seen:
            # Asked first, as reading a table that is not there yet would put an ERROR in
            # the server's log every round: a monitor must leave the log alone.
            exists = self._execute(conn, sql.TABLE_EXISTS, (f'"{schema}"."{table}"',)).fetchone()
            if not exists or exists[0] is None:
                return replace(sample, heartbeat_error="no heartbeat table yet")
            self._heartbeat_table_seen = True
        try:
            with conn.transaction():
                found = self._execute(
                    conn, sql.HEARTBEAT_READ.format(schema=schema, table=table), (self._system_id,)
                ).fetchone()
        except psycopg.errors.UndefinedTable:
            self._heartbeat_table_seen = False
            return replace(sample, heartbeat_error="no heartbeat table yet")
        except psycopg.errors.InsufficientPrivilege:
            return replace(
                sample, heartbeat_error=f"needs GRANT SELECT ON {self.heartbeat_table}"
            )
        if not found or found[0] is None:
            return replace(sample, heartbeat_error="no heartbeat row from the primary yet")
        return replace(
            sample, heartbeat_lag_s=max(0.0, float(found[0])), heartbeat_at=float(found[1])
        )

    # -- the slower details -------------------------------------------------------------------

    def read_detail(
        self, conn: psycopg.Connection[Any], watched: Sequence[str], default_schema: str | None
    ) -> DetailSample:
        started = time.perf_counter()
        at = time.time()
        # One transaction for the whole pass: it counts once in xact_commit rather than once
        # per statement, so the TPS of the node stays the workload's. Each table reads in a
        # savepoint of its own, so one that fails (dropped meanwhile) spoils nothing else.
        self.activity.add("queries")  # BEGIN
        unknown: list[str] = []
        with conn.transaction():
            statements = self._statements(conn)
            names = self._table_names(conn, watched, default_schema)
            unknown.extend(self._statement_notes(statements))
            tables = tuple(self._table(conn, schema, table, unknown) for schema, table in names)
            citus = None
            if self.citus_role(conn) == "coordinator":
                citus = read_citus(conn, self._execute)
            timescale = self._timescale(conn)
        self.activity.add("queries")  # COMMIT
        self.activity.add("transactions")
        return DetailSample(
            at=at,
            statements=statements,
            tables=tables,
            citus=citus,
            timescale=timescale,
            duration_ms=(time.perf_counter() - started) * 1000,
            unknown=tuple(dict.fromkeys(unknown)),
        )

    def _statement_notes(self, statements: StatementsSample) -> list[str]:
        if statements.reason and "needs GRANT" in statements.reason:
            return [statements.reason]
        if statements.available and self._reads_all_stats is False:
            # Other users' statement texts read `<insufficient privilege>`.
            return [unknown_for("other users' statement texts", "pg_monitor TO the user")]
        return []

    def read_table(self, conn: psycopg.Connection[Any], schema: str, table: str) -> TableSample:
        """One table's sizes and reclaimable space, outside a poll round (a cleanup reads it
        before and after its run)."""
        with conn.transaction():
            return self._table(conn, schema, table)

    def _statements(self, conn: psycopg.Connection[Any]) -> StatementsSample:
        if not self.has_extension(conn, "pg_stat_statements"):
            return StatementsSample(
                False,
                "pg_stat_statements is not installed in this database "
                "(shared_preload_libraries + CREATE EXTENSION pg_stat_statements)",
            )
        # On a Citus worker, after shard moves, every read of pg_stat_statements' texts fails
        # ("invalid byte sequence for encoding UTF8: 0x00") and each failure is an ERROR in
        # the worker's log: there the texts are not read at all. Elsewhere, the first such
        # failure turns text reading off for the node, so the log gets one line, not one a pass.
        texts = not self._texts_unreadable and self.citus_role(conn) != "worker"
        statement = sql.TOP_STATEMENTS if texts else sql.TOP_STATEMENTS_NO_TEXT
        try:
            with conn.transaction():
                rows = self._execute(conn, statement, (TOP_STATEMENTS * READ_FOR_TOP,)).fetchall()
        except psycopg.errors.CharacterNotInRepertoire:
            self._texts_unreadable = True
            return self._statements(conn)
        except psycopg.Error as exc:
            if is_missing_privilege(exc):
                return StatementsSample(False, unknown_for("top statements", "pg_monitor TO the user"))
            return StatementsSample(False, f"pg_stat_statements unreadable: {error_text(exc)}")
        # pg_stat_statements keeps utility statements as sent, literals and all: a CREATE or
        # ALTER ROLE ... PASSWORD '...' would show its password. Every literal is masked.
        masked = [(r[0], mask_literals(str(r[1]), "postgres"), *r[2:]) for r in rows]
        return StatementsSample.from_rows(masked, TOP_STATEMENTS)

    def _table_names(
        self, conn: psycopg.Connection[Any], watched: Sequence[str], default_schema: str | None
    ) -> list[tuple[str, str]]:
        if watched:
            result = []
            for name in watched:
                schema, _, table = name.rpartition(".")
                result.append((schema or default_schema or "public", table))
            return result
        rows = self._execute(conn, sql.LARGEST_TABLES, (LARGEST_TABLES,)).fetchall()
        return [(r[0], r[1]) for r in rows]

    def _table(
        self,
        conn: psycopg.Connection[Any],
        schema: str,
        table: str,
        unknown: list[str] | None = None,
    ) -> TableSample:
        notes: list[str] = unknown if unknown is not None else []
        try:
            with conn.transaction():
                return self._table_in_savepoint(conn, schema, table, notes)
        except psycopg.Error as exc:
            if conn.broken:  # the connection is gone, not the table: the whole pass failed
                raise
            return TableSample.unreadable(schema, table, error_text(exc))

    def _table_in_savepoint(
        self, conn: psycopg.Connection[Any], schema: str, table: str, notes: list[str]
    ) -> TableSample:
        rel = self._execute(conn, sql.RELATION, (schema, table)).fetchone()
        if rel is None:
            return TableSample.unreadable(schema, table, "no such table")
        oid, relkind = rel
        hypertable = self._is_hypertable(conn, schema, table)
        leaves = self._execute(
            conn, sql.LEAVES, {"oid": oid, "hypertable": hypertable}
        ).fetchall()
        approx = self.has_extension(conn, "pgstattuple")
        total_len = free = 0
        try:
            with conn.transaction():
                for leaf in leaves if approx else ():
                    leaf_len, leaf_free = self._leaf_bloat(conn, leaf)
                    total_len += leaf_len
                    free += leaf_free
        except psycopg.errors.InsufficientPrivilege:
            # pgstattuple_approx needs pg_stat_scan_tables: the estimate below stands, and
            # the screen says what would make it exact.
            approx = False
            notes.append(unknown_for("measured reclaimable space", "pg_monitor TO the user"))
        try:
            with conn.transaction():
                exact = self._exact_counts(conn, schema, table, leaves)
        except psycopg.errors.InsufficientPrivilege:
            exact = {}
            notes.append(unknown_for(f"exact rows of {schema}.{table}", f"SELECT ON {schema}.{table}"))
        data = sum(int(leaf[3]) for leaf in leaves)
        index = sum(int(leaf[4]) for leaf in leaves)
        dead = sum(int(leaf[5]) for leaf in leaves)
        live = sum(int(leaf[6]) for leaf in leaves)
        if approx:
            method, allocated, reclaimable = "pgstattuple_approx", total_len, free
        else:
            # Without pgstattuple, dead tuples' share of the heap is the best estimate there is.
            method, allocated = "n_dead_tup share of the heap (install pgstattuple)", data
            reclaimable = int(data * dead / (dead + live)) if dead + live else 0
        partitions: tuple[PartitionSample, ...] = ()
        compression = None
        if relkind == "p" or hypertable:
            bounds, compression = (
                self._chunks(conn, schema, table) if hypertable else ({}, None)
            )
            partitions = tuple(
                PartitionSample(
                    name=leaf[1],
                    rows=exact.get(leaf[1], max(0, int(leaf[2]))),
                    data_bytes=int(leaf[3]),
                    index_bytes=int(leaf[4]),
                    rows_exact=leaf[1] in exact,
                    bound=bounds.get(leaf[1], leaf[9]),
                )
                for leaf in leaves
                if not hypertable or int(leaf[0]) != int(oid)  # a chunkless hypertable: none
            )
        rows_exact = bool(leaves) and all(leaf[1] in exact for leaf in leaves)
        rows = sum(exact.values()) if rows_exact else sum(max(0, int(leaf[2])) for leaf in leaves)
        vacuums = [str(leaf[7]) for leaf in leaves if leaf[7] is not None]
        autovacuums = [str(leaf[8]) for leaf in leaves if leaf[8] is not None]
        populated = [p.rows for p in partitions if p.rows > 0]
        return TableSample(
            schema=schema,
            table=table,
            rows=rows,
            rows_exact=rows_exact,
            data_bytes=data,
            index_bytes=index,
            allocated_bytes=allocated,
            reclaimable_bytes=reclaimable,
            fragmentation_ratio=(reclaimable / allocated) if allocated else None,
            method=method,
            dead_tuples=dead,
            last_vacuum=max(vacuums) if vacuums else None,
            last_autovacuum=max(autovacuums) if autovacuums else None,
            partitions=partitions,
            partition_skew=skew(populated) if partitions else None,
            hypertable=hypertable,
            compression=compression,
        )

    def _is_hypertable(self, conn: psycopg.Connection[Any], schema: str, table: str) -> bool:
        if not self.has_extension(conn, "timescaledb"):
            return False
        return bool(self._execute(conn, ts_sql.IS_HYPERTABLE, (schema, table)).fetchone())

    def _chunks(
        self, conn: psycopg.Connection[Any], schema: str, table: str
    ) -> tuple[dict[str, str], str]:
        """Each chunk's time range, and what is known of their compression."""
        rows = self._execute(conn, ts_sql.CHUNKS, (schema, table)).fetchall()
        bounds = {str(name): f"FROM ({start}) TO ({end})" for name, start, end, _c in rows}
        license_row = self._execute(conn, ts_sql.EXTENSION).fetchone()
        if license_row is not None and license_row[1] == "apache":
            return bounds, "not in this build (Apache license)"
        compressed = sum(1 for *_rest, is_compressed in rows if is_compressed)
        return bounds, f"{compressed} of {len(rows)} chunks compressed"

    def _timescale(self, conn: psycopg.Connection[Any]) -> TimescaleSample | None:
        """The extension's version and license, and its background jobs with their last
        error: a retention job that keeps failing is what an operator must see."""
        if not self.has_extension(conn, "timescaledb"):
            return None
        row = self._execute(conn, ts_sql.EXTENSION).fetchone()
        if row is None:
            return None
        version, license_name = str(row[0]), row[1]
        try:
            with conn.transaction():
                rows = self._execute(conn, ts_sql.JOBS).fetchall()
        except psycopg.Error as exc:
            if conn.broken:
                raise
            return TimescaleSample(version, license_name, jobs_error=error_text(exc))
        jobs = tuple(
            TimescaleJobSample(
                job_id=int(job_id),
                name=printable(str(name)),
                proc=proc,
                hypertable=hypertable,
                scheduled=bool(scheduled),
                last_status=status,
                runs=_i(runs),
                failures=_i(failures),
                last_started=str(started) if started is not None else None,
                last_error=printable(" ".join(str(error).split())) if error else None,
            )
            for job_id, name, proc, hypertable, scheduled, status, runs, failures, started, error
            in rows
        )
        return TimescaleSample(version, license_name, jobs)

    def _leaf_bloat(self, conn: psycopg.Connection[Any], leaf: Any) -> tuple[int, int]:
        """Allocated and reclaimable bytes of one leaf. pgstattuple_approx reads every page not
        marked all-visible (all of a freshly loaded table): measured again only when the leaf
        changed (file, size, rows written, dead rows, a vacuum) or BLOAT_MAX_AGE_S passed, so
        watching big quiet tables costs the server nothing every few seconds."""
        oid = int(leaf[0])
        key = (leaf[10], leaf[3], leaf[11], leaf[5], leaf[7], leaf[8])
        cached = self._bloat.get(oid)
        if cached and cached[0] == key and time.monotonic() - cached[1] < BLOAT_MAX_AGE_S:
            return cached[2]
        bloat = self._execute(conn, sql.APPROX_BLOAT, (oid,)).fetchone()
        value = (int(bloat[0]), int(bloat[1]) + int(bloat[2])) if bloat else (0, 0)
        if len(self._bloat) > 10_000:  # dropped tables' entries: forget them all at once
            self._bloat.clear()
        self._bloat[oid] = (key, time.monotonic(), value)
        return value

    def _exact_counts(
        self, conn: psycopg.Connection[Any], schema: str, table: str, leaves: Sequence[Any]
    ) -> dict[str, int]:
        # A leaf never analyzed has reltuples -1: its size says how many rows it may hold
        # (MIN_ROW_BYTES a row at the least), so a big new leaf is not counted in full.
        estimated = sum(
            int(leaf[2]) if int(leaf[2]) >= 0 else int(leaf[3]) // MIN_ROW_BYTES for leaf in leaves
        )
        if estimated > EXACT_COUNT_LIMIT:
            return {}
        # Counted again only when a leaf was written to (or a file replaced) since the last
        # count: a full count of quiet tables every few seconds is load the operator watches.
        key = tuple((leaf[0], leaf[10], leaf[11]) for leaf in leaves)
        cached = self._counts.get((schema, table))
        if cached and cached[0] == key and time.monotonic() - cached[1] < BLOAT_MAX_AGE_S:
            return dict(cached[2])
        rows = self._execute(conn, sql.EXACT_COUNTS.format(schema=schema, table=table)).fetchall()
        counts = {str(name).rpartition(".")[2].strip('"'): int(n) for name, n in rows}
        self.activity.add("rows_read", sum(counts.values()))  # the scan returned every row
        if conn.info.server_version >= 150000:
            # A backend publishes its counts about once a second; published now, the rows
            # read land in the interval the poller leaves them out of (Read/s).
            self._execute(conn, sql.FLUSH_OWN_STATS)
        # Leaves with no rows do not appear in a GROUP BY: they are exactly 0.
        result = {leaf[1]: counts.get(leaf[1], 0) for leaf in leaves}
        if len(self._counts) > 10_000:
            self._counts.clear()
        self._counts[(schema, table)] = (key, time.monotonic(), result)
        return dict(result)
