"""Reading a MySQL/MariaDB node: status, replication, counters, and the slower details."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pymysql
import pymysql.cursors

from clustertop.collectors.connect import APPLICATION_NAME
from clustertop.collectors.errors import error_text, is_missing_privilege, unknown_for
from clustertop.collectors.heartbeat import split_table
from clustertop.collectors.own import OwnActivity
from clustertop.collectors.samples import (
    DetailSample,
    NodeReading,
    PartitionSample,
    ReplicationSample,
    ServerStatus,
    StatementsSample,
    TableSample,
    skew,
)
from clustertop.collectors.sessions import (
    MDL_WAIT,
    SESSIONS_CAP,
    HeldMetadataLock,
    ProgressSample,
    SessionSample,
    SessionsSample,
    build_sessions_sample,
    is_ddl,
    mask_literals,
    metadata_lock_waits,
    shown_statement,
)
from clustertop.collectors.sql import mysql as sql
from clustertop.core.text import printable

# Rows are counted exactly per partition when a table is at most this big (estimated).
EXACT_COUNT_LIMIT = 200_000
TABLESPACE_RESERVE = 4 << 20
TOP_STATEMENTS = 10
READ_FOR_TOP = 4  # digests read per one shown (monitoring ones are dropped)
LARGEST_TABLES = 10


def _first(row: Mapping[str, Any], *names: str) -> Any:
    """The value under whichever name this server version uses (Replica_* or Slave_*)."""
    for name in names:
        if name in row:
            return row[name]
    return None


def parse_replica_status(row: Mapping[str, Any]) -> ReplicationSample:
    """Both MySQL 8 names (Replica_IO_Running, Seconds_Behind_Source) and the old ones."""
    io = _first(row, "Replica_IO_Running", "Slave_IO_Running")
    sql_thread = _first(row, "Replica_SQL_Running", "Slave_SQL_Running")
    lag = _first(row, "Seconds_Behind_Source", "Seconds_Behind_Master")
    host = _first(row, "Source_Host", "Master_Host")
    port = _first(row, "Source_Port", "Master_Port")
    source_id = _first(row, "Source_Server_Id", "Master_Server_Id")
    position = _first(row, "Gtid_IO_Pos", "Executed_Gtid_Set") or None
    if not position:
        file_ = _first(row, "Relay_Source_Log_File", "Relay_Master_Log_File")
        pos = _first(row, "Exec_Source_Log_Pos", "Exec_Master_Log_Pos")
        position = f"{file_}:{pos}" if file_ else None
    # With a stopped thread the server's figure means nothing (it can read 0 while far
    # behind), so it is reported as unknown rather than trusted.
    running = io == "Yes" and sql_thread == "Yes"
    engine_lag = float(lag) if lag is not None and running else None
    return ReplicationSample(
        source=f"{host}:{port}" if host else None,
        channel=str(_first(row, "Connection_name", "Channel_Name") or ""),
        running=running,
        io_running=io,
        sql_running=sql_thread,
        engine_lag_s=engine_lag,
        last_io_error=str(_first(row, "Last_IO_Error") or "").strip() or None,
        last_sql_error=str(_first(row, "Last_SQL_Error") or "").strip() or None,
        position=str(position) if position else None,
        source_server_id=int(source_id) if source_id not in (None, "") else None,
    )


class MySQLCollector:
    """One node's reader; remembers only what the server told it once (flavour, page size)."""

    show_literals = False  # statements of sessions with their literals (else masked)
    read_sessions = True  # the sessions with every poll (PollTarget.read_sessions)

    def __init__(self, heartbeat_table: str | None = None) -> None:
        self._mdl_plugin: bool | None = None  # MariaDB's METADATA_LOCK_INFO is loaded
        self.is_mariadb: bool | None = None
        self.page_size = 16384
        self.heartbeat_table = heartbeat_table
        # Our own statements; reads of InnoDB tables count as transactions in InnoDB's trx
        # counters, so they are kept apart.
        self.activity = OwnActivity()

    @property
    def queries(self) -> int:
        return self.activity.total("queries")

    def _execute(self, cur: Any, statement: str, args: Any = None) -> None:
        self.activity.add("queries")
        cur.execute(statement, args)

    # -- every round ------------------------------------------------------------------------

    def sessions(self, conn: pymysql.connections.Connection[Any]) -> SessionsSample:
        """The sessions alone, on a connection of the caller's (ending one: `clustertop kill`)."""
        if self.is_mariadb is None:
            with conn.cursor() as cur:
                self._execute(cur, sql.VERSION)
                self.is_mariadb = "MariaDB" in str(cur.fetchone()[0])
        return self._sessions(conn)

    def _sessions(self, conn: pymysql.connections.Connection[Any]) -> SessionsSample:
        """Client sessions (worst first, capped), who blocks whom (row locks from InnoDB,
        metadata locks from METADATA_LOCK_INFO / performance_schema), long operations. The
        lock tables are read only when someone waits. A failure leaves the round standing."""
        mariadb = bool(self.is_mariadb)
        notes: list[str] = []
        try:
            with conn.cursor() as cur:
                self._execute(
                    cur, sql.SESSIONS_MARIADB if mariadb else sql.SESSIONS_MYSQL, (SESSIONS_CAP,)
                )
                rows = list(cur.fetchall())
                row_waits = self._row_lock_waits(cur, rows, mariadb)
                mdl_waiting = any(MDL_WAIT in str(r[6] or "").lower() for r in rows)
                held = self._held_metadata_locks(cur, mariadb, notes) if mdl_waiting else []
                stages = [] if mariadb else self._stages(cur)
        except pymysql.err.MySQLError as exc:
            if exc.args and exc.args[0] in (2006, 2013, 2055):  # the connection is gone
                raise
            return build_sessions_sample((), 0, notes=(f"sessions: {error_text(exc)}",))
        total = int(rows[0][15]) if rows else 0
        sessions = [self._session(r, row_waits.get(int(r[0]))) for r in rows]
        if held or mdl_waiting:
            waits = metadata_lock_waits(sessions, held)
            sessions = [
                replace(s, blocked_by=waits[s.id][0], lock=waits[s.id][1], wait_s=s.state_s)
                if s.id in waits else s
                for s in sessions
            ]
        if rows and all(r[4] is None for r in rows):
            notes.append(
                "own sessions not marked: performance_schema is off (its connect attributes "
                "name clustertop's connections)"
            )
        progress = [
            ProgressSample(
                session_id=int(r[0]),
                operation=_operation(r[8]),
                target=None,
                phase=f"stage {r[12]} of {r[13]}" + (f": {r[6]}" if r[6] else ""),
                # PROGRESS is the stage's own percent: the whole is the stages before plus it.
                done=_overall_percent(r[12], r[13], r[14]),
                total=100.0,
                unit="percent",
            )
            for r in rows
            if mariadb and r[13] and int(r[13]) > 0
        ] + stages
        return build_sessions_sample(sessions, total, progress, notes)

    def _row_lock_waits(
        self, cur: Any, rows: Sequence[Any], mariadb: bool
    ) -> dict[int, tuple[list[int], str]]:
        if not any(r[10] == "LOCK WAIT" for r in rows):
            return {}
        self._execute(cur, sql.LOCK_WAITS_MARIADB if mariadb else sql.LOCK_WAITS_MYSQL)
        waits: dict[int, tuple[list[int], str]] = {}
        for waiting, blocking, table, mode, kind in cur.fetchall():
            what = "row lock" if str(kind or "RECORD").upper() == "RECORD" else "table lock"
            lock = f"{what} ({mode})" + (f" on {printable(str(table))}" if table else "")
            entry = waits.setdefault(int(waiting), ([], lock))
            entry[0].append(int(blocking))
        return waits

    def _held_metadata_locks(
        self, cur: Any, mariadb: bool, notes: list[str]
    ) -> list[HeldMetadataLock]:
        if mariadb:
            if self._mdl_plugin is None:
                self._execute(cur, sql.MDL_PLUGIN)
                self._mdl_plugin = bool(cur.fetchone()[0])
            if not self._mdl_plugin:
                notes.append(
                    "metadata-lock blockers unknown: the METADATA_LOCK_INFO plugin is not "
                    "loaded (INSTALL SONAME 'metadata_lock_info', or plugin_load_add = "
                    "metadata_lock_info in the server's config)"
                )
                return []
        self._execute(cur, sql.MDL_HELD_MARIADB if mariadb else sql.MDL_HELD_MYSQL)
        return [
            HeldMetadataLock(int(t), str(mode), str(schema), str(table))
            for t, mode, schema, table in cur.fetchall()
            if t is not None
        ]

    def _stages(self, cur: Any) -> list[ProgressSample]:
        """MySQL 8: work completed / estimated of the stage each thread is in."""
        self._execute(cur, sql.PROGRESS_MYSQL)
        return [
            ProgressSample(int(pid), str(name).rsplit("/", 1)[-1], None, str(name),
                           _num(done), _num(total), "work units")
            for pid, name, done, total in cur.fetchall()
            if pid is not None
        ]

    def _session(
        self, r: Sequence[Any], row_wait: tuple[list[int], str] | None
    ) -> SessionSample:
        (sid, user, database, client, program, command, state, time_s, info, xact_s, trx_state,
         wait_s, *_rest) = r
        shown_state = str(command) + (f": {state}" if state else "")
        waiting_row = row_wait is not None
        return SessionSample(
            id=int(sid),
            user=user,
            database=database,
            client=client,
            state=printable(shown_state),
            state_s=_num(time_s),
            xact_s=_num(xact_s),
            wait=("row lock" if waiting_row else printable(str(state)))
            if trx_state == "LOCK WAIT" or (state and "Waiting" in str(state)) else None,
            statement=shown_statement(info, "mysql", self.show_literals),
            own=str(program or "").startswith(APPLICATION_NAME),
            program=printable(str(program)) if program else None,
            blocked_by=tuple(row_wait[0]) if row_wait else (),
            lock=row_wait[1] if row_wait else None,
            wait_s=_num(wait_s) if waiting_row else None,
            ddl=is_ddl(info),
        )

    def read(self, conn: pymysql.connections.Connection[Any]) -> NodeReading:
        unknown: list[str] = []
        with conn.cursor() as cur:
            started = time.perf_counter()
            self._execute(cur, sql.PROBE)
            cur.fetchone()
            probe_ms = (time.perf_counter() - started) * 1000
            self._execute(cur, sql.VERSION)
            version, max_connections, server_id, page_size = cur.fetchone()  # type: ignore[misc]
            self.is_mariadb = "MariaDB" in str(version)
            self.page_size = int(page_size)
            self._execute(cur, sql.GLOBAL_STATUS)
            status = {name: value for name, value in cur.fetchall()}
            trx, trx_rollbacks = self._trx_metrics(cur, unknown)
        role = "primary"
        with conn.cursor(pymysql.cursors.DictCursor) as dcur:
            try:
                self._execute(
                    dcur,
                    sql.REPLICA_STATUS_MARIADB if self.is_mariadb else sql.REPLICA_STATUS_MYSQL,
                )
                replicas = [parse_replica_status(row) for row in dcur.fetchall()]
            except pymysql.err.OperationalError as exc:
                if not is_missing_privilege(exc):
                    raise
                # Whether the node replicates, and how far behind, is then unknown: said on
                # screen, while every other figure of the node is still read.
                grant = "SLAVE MONITOR" if self.is_mariadb else "REPLICATION CLIENT"
                unknown.append(unknown_for("replication (role, lag)", f"{grant} ON *.*"))
                role, replicas = "unknown", []
        if replicas:
            role = "replica"
        if replicas and self.heartbeat_table:
            replicas = [self._with_heartbeat(conn, r) for r in replicas]
        sessions = self._sessions(conn) if self.read_sessions else None

        def num(name: str) -> float | None:
            value = status.get(name)
            return float(value) if value not in (None, "") else None

        commits: float | None
        if trx is not None:
            commits, tps_source = trx, "innodb_metrics trx commits+rollbacks"
        else:
            com = [num("Com_commit"), num("Com_rollback")]
            commits = (
                sum(v for v in com if v is not None) if any(v is not None for v in com) else None
            )
            tps_source = "Com_commit+Com_rollback (explicit transactions only)"
        return NodeReading(
            sessions=sessions,
            status=ServerStatus(
                version=str(version),
                role=role,
                server_id=str(server_id),
                uptime_s=num("Uptime"),
                connections=int(status.get("Threads_connected", 0)),
                max_connections=int(max_connections),
                active=int(status.get("Threads_running", 0)),
                replication=tuple(replicas),
                unknown=tuple(unknown),
            ),
            probe_ms=probe_ms,
            counters={
                "transactions": commits,
                "rollbacks": trx_rollbacks if trx is not None else num("Com_rollback"),
                "queries": num("Questions"),
                # MariaDB 10.11 dropped Innodb_rows_*; its handler counters are the same thing.
                "rows_read": _either(num("Innodb_rows_read"), num("Rows_read")),
                "rows_inserted": _either(num("Innodb_rows_inserted"), num("Handler_write")),
                "rows_updated": _either(num("Innodb_rows_updated"), num("Handler_update")),
                "rows_deleted": _either(num("Innodb_rows_deleted"), num("Handler_delete")),
                "log_bytes": num("Binlog_bytes_written"),
                "cache_requests": num("Innodb_buffer_pool_read_requests"),
                "cache_misses": num("Innodb_buffer_pool_reads"),
            },
            tps_source=tps_source,
            trx_metrics=trx is not None,
        )

    def _trx_metrics(self, cur: Any, unknown: list[str]) -> tuple[float | None, float | None]:
        """InnoDB's transactions (commits and rollbacks) and rollbacks, when its monitors are
        on; else (None, None)."""
        try:
            self._execute(cur, sql.TRX_METRICS if self.is_mariadb else sql.TRX_METRICS_MYSQL)
        except pymysql.err.MySQLError as exc:
            if is_missing_privilege(exc):
                # TPS then counts explicit COMMITs only, which the figure's source says.
                unknown.append(unknown_for("TPS of autocommit statements", "PROCESS ON *.*"))
            return None, None
        rows = cur.fetchall()
        if len(rows) < 4 or not all(int(r[2]) for r in rows):
            return None, None
        rollbacks = sum(int(r[1]) for r in rows if r[0] == "trx_rollbacks")
        return float(sum(int(r[1]) for r in rows)), float(rollbacks)

    def _with_heartbeat(
        self, conn: pymysql.connections.Connection[Any], rep: ReplicationSample
    ) -> ReplicationSample:
        from dataclasses import replace

        assert self.heartbeat_table is not None
        schema, table = split_table(self.heartbeat_table)
        if rep.source_server_id is None:
            return replace(rep, heartbeat_error="source server_id unknown")
        try:
            with conn.cursor() as cur:
                self._execute(
                    cur,
                    sql.HEARTBEAT_READ.format(schema=schema, table=table),
                    (rep.source_server_id,),
                )
                row = cur.fetchone()
        except pymysql.err.MySQLError as exc:
            if is_missing_privilege(exc):
                return replace(rep, heartbeat_error=f"needs GRANT SELECT ON {schema}.*")
            return replace(rep, heartbeat_error=error_text(exc))
        if not row or row[0] is None:
            return replace(rep, heartbeat_error="no heartbeat row from the source yet")
        return replace(rep, heartbeat_lag_s=max(0.0, float(row[0])), heartbeat_at=float(row[1]))

    # -- the slower details -------------------------------------------------------------------

    def read_detail(
        self,
        conn: pymysql.connections.Connection[Any],
        watched: Sequence[str],
        default_schema: str | None,
    ) -> DetailSample:
        started = time.perf_counter()
        at = time.time()
        unknown: list[str] = []
        with conn.cursor() as cur:
            statements = self._statements(cur)
            names = self._table_names(cur, watched, default_schema)
            tables = tuple(self._table(cur, schema, table, unknown) for schema, table in names)
        if statements.reason and "needs GRANT" in statements.reason:
            unknown.insert(0, statements.reason)
        return DetailSample(
            at=at,
            statements=statements,
            tables=tables,
            duration_ms=(time.perf_counter() - started) * 1000,
            unknown=tuple(dict.fromkeys(unknown)),
        )

    def read_table(
        self, conn: pymysql.connections.Connection[Any], schema: str, table: str
    ) -> TableSample:
        """One table's sizes and reclaimable space, outside a poll round (a cleanup reads it
        before and after its run)."""
        with conn.cursor() as cur:
            if self.is_mariadb is None:
                self._execute(cur, sql.VERSION)
                version, _max_connections, _server_id, page_size = cur.fetchone()  # type: ignore[misc]
                self.is_mariadb = "MariaDB" in str(version)
                self.page_size = int(page_size)
            return self._table(cur, schema, table)

    def _statements(self, cur: Any) -> StatementsSample:
        try:
            self._execute(cur, sql.STATEMENTS_ENABLED)
            enabled = cur.fetchone()
            if not enabled or not int(enabled[0]):
                return StatementsSample(
                    False, "performance_schema is OFF (set performance_schema=ON)"
                )
            # More than shown: the monitoring statements among them are left out.
            self._execute(cur, sql.TOP_STATEMENTS, (TOP_STATEMENTS * READ_FOR_TOP,))
            rows = cur.fetchall()
        except pymysql.err.MySQLError as exc:
            if is_missing_privilege(exc):
                return StatementsSample(
                    False, unknown_for("top statements", "SELECT ON performance_schema.*")
                )
            return StatementsSample(False, f"performance_schema digests unreadable: {exc.args[-1]}")
        # Digests are normalised already; a literal that slipped through (a password) is not
        # shown either.
        masked = [(r[0], mask_literals(str(r[1]), "mysql"), *r[2:]) for r in rows]
        return StatementsSample.from_rows(masked, TOP_STATEMENTS)

    def _table_names(
        self, cur: Any, watched: Sequence[str], default_schema: str | None
    ) -> list[tuple[str, str]]:
        if watched:
            result = []
            for name in watched:
                schema, _, table = name.rpartition(".")
                result.append((schema or default_schema or "", table))
            return result
        self._execute(cur, sql.LARGEST_TABLES, (LARGEST_TABLES,))
        return [(r[0], r[1]) for r in cur.fetchall()]

    def _table(
        self, cur: Any, schema: str, table: str, unknown: list[str] | None = None
    ) -> TableSample:
        notes: list[str] = unknown if unknown is not None else []
        try:
            self._execute(cur, sql.TABLE_SIZES, (schema, table))
            row = cur.fetchone()
        except pymysql.err.MySQLError as exc:
            if not cur.connection.open:  # the connection is gone, not the table
                raise
            return TableSample.unreadable(schema, table, error_text(exc))
        if not row:
            # information_schema lists only the tables the user holds some privilege on.
            return TableSample.unreadable(
                schema, table, f"no such table, or no privilege on it (needs GRANT SELECT ON "
                f"{schema}.{table})"
            )
        _s, _t, est_rows, data, index, free, partitioned = row
        data, index, free = int(data or 0), int(index or 0), int(free or 0)
        leaf_pages, updated = self._leaf_pages(cur, schema, table, notes)
        partitions: tuple[PartitionSample, ...] = ()
        rows, exact = int(est_rows or 0), False
        if partitioned:
            self._execute(cur, sql.PARTITIONS, (schema, table))
            parts = list(cur.fetchall())
            partitions = self._partitions(cur, schema, table, parts, int(est_rows or 0))
            if partitions and all(p.rows_exact for p in partitions):
                rows, exact = sum(p.rows for p in partitions), True
            spaces = [(str(p[0]), int(p[2] or 0), int(p[3] or 0), int(p[4] or 0)) for p in parts]
        else:
            spaces = [("", data, index, free)]
            if rows <= EXACT_COUNT_LIMIT:
                try:
                    self.activity.add("innodb_reads")
                    self._execute(cur, sql.TABLE_COUNT.format(schema=schema, table=table))
                    rows, exact = int(cur.fetchone()[0]), True
                    self.activity.add("rows_read", rows)  # counting read every row
                except pymysql.err.MySQLError as exc:
                    if is_missing_privilege(exc):  # the estimate stands, and says why
                        notes.append(
                            unknown_for(f"exact rows of {schema}.{table}",
                                        f"SELECT ON {schema}.{table}")
                        )
        files = self._tablespace_files(cur, schema, table, notes)
        stats_rows, stats_at = self._stats_rows(cur, schema, table, notes)
        reclaimable: int | None = 0
        allocated = 0
        method = "InnoDB: file size - leaf pages in use"
        for name, s_data, s_index, s_free in spaces:
            size = files.get(name.lower(), s_data + s_index + s_free)
            allocated += size
            leaves = leaf_pages.get(name.lower())
            if leaves is None:
                method = "DATA_FREE (innodb_index_stats missing for a tablespace)"
                reclaimable = (reclaimable or 0) + max(0, s_free - TABLESPACE_RESERVE)
                continue
            reclaimable = (reclaimable or 0) + reclaimable_bytes(size, leaves * self.page_size)
        if exact and stats_rows is not None and abs(stats_rows - rows) > 0.1 * max(rows, 1000):
            # Leaf-page counts come from the same statistics: until InnoDB refreshes them
            # after a large change, a figure would be a guess, so none is given.
            reclaimable = None
            method = f"InnoDB statistics stale (as of {stats_at}: {stats_rows} rows, now {rows})"
        populated = [p.rows for p in partitions if p.rows > 0]
        return TableSample(
            schema=schema,
            table=table,
            rows=rows,
            rows_exact=exact,
            data_bytes=data,
            index_bytes=index,
            allocated_bytes=allocated,
            reclaimable_bytes=reclaimable,
            fragmentation_ratio=(reclaimable / allocated)
            if allocated and reclaimable is not None
            else None,
            method=method,
            stats_updated=updated,
            partitions=partitions,
            partition_skew=skew(populated) if partitions else None,
        )

    def _tablespace_files(
        self, cur: Any, schema: str, table: str, notes: list[str]
    ) -> dict[str, int]:
        """File size per tablespace: '' for the table, the partition's name otherwise."""
        statement = sql.TABLESPACE_FILES_MARIADB if self.is_mariadb else sql.TABLESPACE_FILES_MYSQL
        try:
            self._execute(
                cur, statement, (f"{schema}/{table}", f"{_like(schema)}/{_like(table)}#%")
            )
            rows = cur.fetchall()
        except pymysql.err.MySQLError as exc:
            if is_missing_privilege(exc):
                notes.append(unknown_for("tablespace file sizes", "PROCESS ON *.*"))
            return {}
        files = {}
        for name, size in rows:
            _, sep, part = str(name).lower().partition("#p#")
            files[part if sep else ""] = int(size)
        return files

    def _stats_rows(
        self, cur: Any, schema: str, table: str, notes: list[str]
    ) -> tuple[int | None, str | None]:
        try:
            self.activity.add("innodb_reads")
            self._execute(cur, sql.TABLE_STATS_ROWS, (schema, table, _like(table) + "#%"))
            row = cur.fetchone()
        except pymysql.err.MySQLError as exc:
            if is_missing_privilege(exc):
                notes.append(
                    unknown_for("InnoDB statistics' age", "SELECT ON mysql.innodb_table_stats")
                )
            return None, None
        if not row or row[0] is None:
            return None, None
        return int(row[0]), str(row[1])

    def _leaf_pages(
        self, cur: Any, schema: str, table: str, notes: list[str]
    ) -> tuple[dict[str, int], str | None]:
        """Leaf pages in use per tablespace: '' for the table, the partition's name otherwise."""
        try:
            self.activity.add("innodb_reads")
            self._execute(cur, sql.LEAF_PAGES, (schema, table, _like(table) + "#%"))
            rows = cur.fetchall()
        except pymysql.err.MySQLError as exc:
            if is_missing_privilege(exc):
                notes.append(
                    unknown_for("reclaimable space", "SELECT ON mysql.innodb_index_stats")
                )
            return {}, None
        pages: dict[str, int] = {}
        updated = None
        for name, leaves, last in rows:
            _, sep, part = str(name).lower().partition("#p#")
            pages[part if sep else ""] = int(leaves)
            if last is not None:
                updated = max(updated or str(last), str(last))
        return pages, updated

    def _partitions(
        self, cur: Any, schema: str, table: str, parts: list[Any], est_rows: int
    ) -> tuple[PartitionSample, ...]:
        exact: dict[str, int] = {}
        if parts and est_rows <= EXACT_COUNT_LIMIT:
            union = " UNION ALL ".join(
                sql.PARTITION_COUNT.format(schema=schema, table=table, partition=p[0])
                for p in parts
            )
            try:
                self.activity.add("innodb_reads")
                self._execute(cur, union, tuple(p[0] for p in parts))
                exact = {name: int(count) for name, count in cur.fetchall()}
                self.activity.add("rows_read", sum(exact.values()))
            except pymysql.err.MySQLError:
                exact = {}
        return tuple(
            PartitionSample(
                name=str(name),
                rows=exact.get(name, int(rows or 0)),
                data_bytes=int(data or 0),
                index_bytes=int(index or 0),
                rows_exact=name in exact,
            )
            for name, rows, data, index, _free in parts
        )


def reclaimable_bytes(allocated: int, leaf_bytes: int) -> int:
    """What a rebuild would give back from one InnoDB tablespace.

    A rebuilt index needs its leaf pages plus the 1/16 of each page InnoDB leaves free, and a
    tablespace keeps up to 4 MiB of preallocated extents whatever its state; the rest of the
    allocation holds only pages that deleted rows left behind. DATA_FREE alone misses the pages
    left inside an index's segment, and counts the preallocation as waste.
    """
    needed = leaf_bytes * 17 // 16
    return max(0, allocated - needed - TABLESPACE_RESERVE)


def _like(name: str) -> str:
    """A name as a LIKE pattern that matches only itself."""
    return name.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")


def _either(first: float | None, second: float | None) -> float | None:
    return first if first is not None else second


def _num(value: Any) -> float | None:
    return float(value) if value is not None else None


def _operation(info: Any) -> str:
    """ALTER TABLE, LOAD DATA, OPTIMIZE TABLE...: the first words of the statement."""
    words = str(info or "").split()[:2]
    return " ".join(w.upper() for w in words) if words else "?"


def _overall_percent(stage: Any, max_stage: Any, stage_percent: Any) -> float | None:
    if stage is None or not max_stage or stage_percent is None:
        return None
    return ((max(int(stage), 1) - 1) * 100.0 + float(stage_percent)) / int(max_stage)
