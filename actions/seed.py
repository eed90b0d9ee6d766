"""The cleanup benchmark's seed data: same seed, same rows, same checksum, on either engine.

Rows are defined by their age, not their timestamp: row i is `age_i` microseconds older than
the load's anchor (the moment the load started). The checksum covers ids, ages and payloads,
so a data set loaded today and one loaded next week with the same seed compare equal.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from clustertop.actions.sql import mysql as my_sql
from clustertop.actions.sql import postgres as pg_sql
from clustertop.actions.sql import statements_for
from clustertop.collectors.connect import connect_mysql, connect_postgres
from clustertop.collectors.roles import find_writable
from clustertop.core.config import ClusterConfig
from clustertop.core.errors import InputError
from clustertop.core.nodes import NodeSpec

SCHEMA = "cleanup_bench"
PARTITIONED_TABLE = "cleanup_partitioned"
TABLES = ("cleanup_partitioned", "cleanup_batch", "cleanup_copy", "cleanup_truncate")
# On a PostgreSQL node with TimescaleDB: the same rows in a hypertable, one chunk a day.
HYPERTABLE = "cleanup_hyper"
SPAN = timedelta(days=20)
FUTURE_PARTITION_DAYS = 3
STATUSES = ("new", "paid", "shipped", "cancelled")
MAX_ROWS = 50_000_000
Progress = Callable[[str], None]


class SeedRow(NamedTuple):
    """A tuple rather than a dataclass: a million of them are built per load."""

    id: int
    age_us: int
    user_id: int
    status: str
    amount_cents: int
    payload: str

    def ts(self, anchor: datetime) -> datetime:
        return anchor - timedelta(microseconds=self.age_us)


@dataclass(frozen=True)
class TableLoad:
    table: str
    rows: int
    seconds: float
    checksum: str

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class LoadReport:
    cluster: str
    node: str
    seed: int
    rows: int
    anchor: datetime
    tables: tuple[TableLoad, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "node": self.node,
            "seed": self.seed,
            "rows": self.rows,
            "anchor": self.anchor.isoformat(),
            "tables": [
                {
                    "table": f"{SCHEMA}.{t.table}",
                    "rows": t.rows,
                    "seconds": round(t.seconds, 3),
                    "rows_per_s": round(t.rows_per_s, 1),
                    "checksum": t.checksum,
                }
                for t in self.tables
            ],
        }


def generate_rows(count: int, seed: int) -> list[SeedRow]:
    """`count` rows, ids ascending with time (oldest first), ages uniform over 20 days."""
    rng = random.Random(seed)
    rand, bits = rng.random, rng.getrandbits
    span_us = int(SPAN.total_seconds() * 1_000_000)
    ages = sorted((int(rand() * span_us) for _ in range(count)), reverse=True)
    return [
        SeedRow(
            i,
            age,
            1 + int(rand() * 9_999),
            STATUSES[int(rand() * 4)],
            100 + int(rand() * 99_900),
            f"{bits(256):064x}",
        )
        for i, age in enumerate(ages, start=1)
    ]


class Checksum:
    """sha256 over rows in id order, each as id|age_us|user_id|status|amount_cents|payload."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.rows = 0

    def add(
        self, id_: int, age_us: int, user_id: int, status: str, cents: int, payload: str
    ) -> None:
        self._hash.update(f"{id_}|{age_us}|{user_id}|{status}|{cents}|{payload}\n".encode())
        self.rows += 1

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def rows_checksum(rows: Iterable[SeedRow]) -> str:
    check = Checksum()
    for r in rows:
        check.add(r.id, r.age_us, r.user_id, r.status, r.amount_cents, r.payload)
    return check.hexdigest()


def _tsv(rows: Sequence[SeedRow], anchor: datetime, *, with_zone: bool) -> Iterator[str]:
    """Tab-separated rows; the timestamp text is built by hand, strftime is the slow part."""
    zone = "+00" if with_zone else ""
    base = anchor.replace(tzinfo=None)
    epoch = datetime(1970, 1, 1)
    base_us = (base - epoch) // timedelta(microseconds=1)
    day_us = 86_400_000_000
    for r in rows:
        ts_us = base_us - r.age_us
        day, rest = divmod(ts_us, day_us)
        d = date.fromordinal(epoch.toordinal() + day)
        secs, micros = divmod(rest, 1_000_000)
        hh, rem = divmod(secs, 3600)
        mm, ss = divmod(rem, 60)
        cents = r.amount_cents
        yield (
            f"{r.id}\t{d.isoformat()} {hh:02d}:{mm:02d}:{ss:02d}.{micros:06d}{zone}\t{r.user_id}"
            f"\t{r.status}\t{cents // 100}.{cents % 100:02d}\t{r.payload}\n"
        )


def _partition_days(anchor: datetime) -> tuple[date, date]:
    first = (anchor - SPAN).date()
    last = anchor.date() + timedelta(days=FUTURE_PARTITION_DAYS)
    return first, last


def load_cluster(
    cluster: ClusterConfig,
    *,
    rows: int,
    seed: int = 1,
    tables: Sequence[str] = TABLES,
    progress: Progress = lambda _m: None,
) -> LoadReport:
    """Drop and recreate the cleanup_bench tables on the cluster's primary and load them."""
    if rows > MAX_ROWS:
        raise InputError("--rows", rows, f"must be at most {MAX_ROWS}")
    node = find_writable(cluster.nodes)
    allowed = (*TABLES, HYPERTABLE) if node.family == "postgres" else TABLES
    for table in tables:
        if table not in allowed:
            raise InputError("--table", table, f"must be one of {', '.join(allowed)}")
    progress(f"{cluster.name}: generating {rows} rows (seed {seed})")
    data = generate_rows(rows, seed)
    checksum = rows_checksum(data)
    anchor = datetime.now(UTC).replace(microsecond=0)
    loader = _mysql_load if node.family == "mysql" else _postgres_load
    loads = loader(node, data, anchor, seed, checksum, tables, progress)
    return LoadReport(cluster.name, node.name, seed, rows, anchor, tuple(loads))


def _mysql_load(
    node: NodeSpec,
    data: Sequence[SeedRow],
    anchor: datetime,
    seed: int,
    checksum: str,
    tables: Sequence[str],
    progress: Progress,
) -> list[TableLoad]:
    fd, path = tempfile.mkstemp(prefix="clustertop-seed-", suffix=".tsv")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.writelines(_tsv(data, anchor.replace(tzinfo=None), with_zone=False))
        conn = connect_mysql(node, connect_timeout=5, local_infile=True)
        loads = []
        with contextlib.closing(conn), conn.cursor() as cur:
            cur.execute(my_sql.CREATE_SCHEMA)
            cur.execute(my_sql.CREATE_SEED_INFO.format(schema=SCHEMA))
            first, last = _partition_days(anchor)
            for table in tables:
                progress(f"{node.cluster}: loading {SCHEMA}.{table}")
                started = time.perf_counter()
                # A reload starts clean: also what a copy cleanup kept or left of this table.
                for name in (table, f"_{table}_old", f"_{table}_new"):
                    cur.execute(my_sql.DROP_TABLE.format(schema=SCHEMA, table=name))
                if table == PARTITIONED_TABLE:
                    ddl = my_sql.CREATE_PARTITIONED_TABLE.format(
                        schema=SCHEMA, table=table, partitions=my_sql.daily_partitions(first, last)
                    )
                else:
                    ddl = my_sql.CREATE_PLAIN_TABLE.format(schema=SCHEMA, table=table)
                cur.execute(ddl)
                if data:
                    cur.execute(my_sql.LOAD_TSV.format(schema=SCHEMA, table=table), (path,))
                cur.execute(
                    my_sql.RECORD_SEED.format(schema=SCHEMA),
                    (table, seed, len(data), anchor.replace(tzinfo=None), checksum),
                )
                loads.append(TableLoad(table, len(data), time.perf_counter() - started, checksum))
        return loads
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _postgres_load(
    node: NodeSpec,
    data: Sequence[SeedRow],
    anchor: datetime,
    seed: int,
    checksum: str,
    tables: Sequence[str],
    progress: Progress,
) -> list[TableLoad]:
    text = "".join(_tsv(data, anchor, with_zone=True)).encode()
    loads = []
    with connect_postgres(node, connect_timeout=5) as conn:
        conn.execute(pg_sql.CREATE_SCHEMA)
        conn.execute(pg_sql.CREATE_SEED_INFO.format(schema=SCHEMA))
        first, last = _partition_days(anchor)
        for table in tables:
            progress(f"{node.cluster}: loading {SCHEMA}.{table}")
            started = time.perf_counter()
            names = {"schema": SCHEMA, "table": table}
            with conn.transaction():
                # A reload starts clean: also what a copy cleanup kept or left of this table.
                for name in (table, f"_{table}_old", f"_{table}_new"):
                    conn.execute(pg_sql.DROP_TABLE.format(schema=SCHEMA, table=name))
                if table == PARTITIONED_TABLE:
                    conn.execute(pg_sql.CREATE_PARTITIONED_TABLE.format(**names))
                    for statement in pg_sql.daily_partitions(SCHEMA, table, first, last):
                        conn.execute(statement)
                elif table == HYPERTABLE:
                    conn.execute(pg_sql.CREATE_HYPERTABLE_TABLE.format(**names))
                    conn.execute(pg_sql.MAKE_HYPERTABLE, (f'"{SCHEMA}"."{table}"',))
                else:
                    conn.execute(pg_sql.CREATE_PLAIN_TABLE.format(**names))
                conn.execute(pg_sql.CREATE_TS_INDEX.format(**names))
                with conn.cursor() as cur, cur.copy(pg_sql.COPY_TSV.format(**names)) as copy:
                    chunk = 8 << 20
                    for offset in range(0, len(text), chunk):
                        copy.write(text[offset : offset + chunk])
                conn.execute(pg_sql.SYNC_IDENTITY.format(**names))
                conn.execute(
                    pg_sql.RECORD_SEED.format(schema=SCHEMA),
                    (table, seed, len(data), anchor, checksum),
                )
            conn.execute(pg_sql.ANALYZE.format(**names))
            loads.append(TableLoad(table, len(data), time.perf_counter() - started, checksum))
    return loads


# ---------------------------------------------------------------------------------------------
# Reading back: what is in the database now, checked independently of the generator.


@dataclass(frozen=True)
class SeedInfo:
    table: str
    seed: int
    rows: int
    anchor: datetime
    checksum: str


def read_seed_info(node: NodeSpec) -> dict[str, SeedInfo]:
    """What each table was loaded with; empty when nothing was loaded yet."""
    if node.family == "mysql":
        conn = connect_mysql(node, connect_timeout=5)
        with contextlib.closing(conn), conn.cursor() as cur:
            cur.execute(my_sql.SEED_INFO_EXISTS, (SCHEMA,))
            if not cur.fetchone():
                return {}
            cur.execute(my_sql.READ_SEED_INFO.format(schema=SCHEMA))
            rows = cur.fetchall()
        return {
            r[0]: SeedInfo(r[0], int(r[1]), int(r[2]), r[3].replace(tzinfo=UTC), r[4]) for r in rows
        }
    with connect_postgres(node, connect_timeout=5) as pg:
        exists = pg.execute(pg_sql.SEED_INFO_EXISTS, (f"{SCHEMA}.seed_info",)).fetchone()
        if not exists or exists[0] is None:
            return {}
        rows = pg.execute(pg_sql.READ_SEED_INFO.format(schema=SCHEMA)).fetchall()
    return {r[0]: SeedInfo(r[0], int(r[1]), int(r[2]), r[3], r[4]) for r in rows}


def is_loaded(cluster: ClusterConfig, rows: int) -> bool:
    """Loaded with `rows` a table, and holding them still: after a cleanup (or a comparison,
    which reloads the tables smaller) there is nothing old left to clean, so a demo reloads."""
    node = find_writable(cluster.nodes)
    info = read_seed_info(node)
    if not all(t in info and info[t].rows == rows for t in TABLES):
        return False
    return all(count_rows(node, t) == rows for t in TABLES)


def count_rows(node: NodeSpec, table: str) -> int:
    statement = statements_for(node.family).COUNT_ROWS.format(schema=SCHEMA, table=table)
    if node.family == "mysql":
        conn = connect_mysql(node, connect_timeout=5)
        with contextlib.closing(conn), conn.cursor() as cur:
            cur.execute(statement)
            row = cur.fetchone()
    else:
        with connect_postgres(node, connect_timeout=5) as pg:
            row = pg.execute(statement).fetchone()
    return int(row[0]) if row else 0


def table_checksum(node: NodeSpec, table: str, anchor: datetime) -> tuple[int, str]:
    """Row count and checksum of what the table holds now, read back from the server."""
    check = Checksum()
    anchor_utc = anchor.astimezone(UTC)

    def add(row: Sequence[Any]) -> None:
        id_, ts, user_id, status, amount, payload = row
        ts_utc = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
        age = anchor_utc - ts_utc
        age_us = (age.days * 86_400 + age.seconds) * 1_000_000 + age.microseconds
        cents = int(Decimal(amount) * 100)
        check.add(int(id_), age_us, int(user_id), status, cents, payload)

    sql = statements_for(node.family).SEED_ROWS.format(schema=SCHEMA, table=table)
    for row in stream_rows(node, sql):
        add(row)
    return check.rows, check.hexdigest()


def stream_rows(node: NodeSpec, statement: str) -> Iterator[Sequence[Any]]:
    """The rows of a read-back, a few at a time from the server (a server-side cursor), so
    a table of millions is checksummed without holding it."""
    if node.family == "mysql":
        import pymysql.cursors

        conn = connect_mysql(node, connect_timeout=5)
        with contextlib.closing(conn), conn.cursor(pymysql.cursors.SSCursor) as cur:
            cur.execute(statement)
            yield from cur
        return
    with connect_postgres(node, connect_timeout=5) as pg, pg.cursor(name="seed_read") as pg_cur:
        pg.autocommit = False
        pg_cur.execute(statement)
        yield from pg_cur
