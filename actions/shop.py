"""The shop data set: a seeded, multi-table schema for the transaction workloads (ecommerce,
olap, reporting, social, iot, and the shop forms of oltp and the rest).

Same seed and scale, same rows, same checksums, on either engine and on Citus. As in the
cleanup benchmark's seed data, time is kept as an age (whole seconds before the load's anchor),
so the checksum of a table loaded today equals that of one loaded next week.

Sizes grow linearly with the scale N: 1,000 N customers, 100 N products (each with its
inventory row), 2,000 N orders with 1-4 lines each, 10,000 N events over 14 days in daily
partitions, a session per customer, 2,000 N posts, 5 follows per customer, 200 N devices and
10,000 N sensor readings.

On Citus every table that belongs to a customer is distributed by customer_id, all colocated;
products and inventory are reference tables; devices and their readings are distributed by
device_id (a colocation group of their own: a reading names its device, not its owner).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from clustertop.actions.seed import stream_rows
from clustertop.actions.sql import statements_for
from clustertop.collectors.connect import connect_mysql, connect_postgres
from clustertop.collectors.roles import find_writable
from clustertop.core.config import ClusterConfig
from clustertop.core.errors import InputError
from clustertop.core.nodes import NodeSpec

SCHEMA = "shop"
MAX_SCALE = 1000
SPAN_S = 14 * 86_400  # events, orders and readings are spread over the last 14 days
FUTURE_DAYS = 3  # daily partitions made ahead of the anchor
INITIAL_STOCK = 1_000_000  # every product's stock at load: no order of a test run empties it
CATEGORIES = ("books", "games", "garden", "kitchen", "music", "outdoor", "tools", "toys")
COUNTRIES = ("de", "fr", "gb", "in", "jp", "nl", "pl", "us")
EVENT_KINDS = ("view", "cart", "search", "login")
ORDER_STATUSES = ("placed", "paid", "shipped", "delivered", "cancelled")
DEVICE_KINDS = ("thermo", "meter", "door", "camera")
FOLLOWS_PER_CUSTOMER = 5
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ShopColumn:
    name: str
    kind: str  # id (bigint), int, text:N (varchar N), ts (a timestamp, generated as an age)


@dataclass(frozen=True)
class ShopTable:
    name: str
    columns: tuple[ShopColumn, ...]
    key: tuple[str, ...]
    # (columns, referenced table, referenced columns)
    foreign_keys: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()
    partitioned_by: str | None = None  # a ts column: one partition a day
    citus: str = "customer"  # customer (distributed, colocated), device, or reference

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _cols(spec: str) -> tuple[ShopColumn, ...]:
    return tuple(ShopColumn(*item.split(" ")) for item in spec.split(", "))


# In load order: every table after the tables its foreign keys name.
TABLES: tuple[ShopTable, ...] = (
    ShopTable("customers", _cols("customer_id id, name text:64, email text:128, "
                                 "country text:2, created_at ts"), ("customer_id",)),
    ShopTable("products", _cols("product_id id, name text:64, category text:32, price_cents int"),
              ("product_id",), citus="reference"),
    ShopTable("inventory", _cols("product_id id, stock id, updated_at ts"), ("product_id",),
              foreign_keys=((("product_id",), "products", ("product_id",)),),
              citus="reference"),
    ShopTable("orders", _cols("customer_id id, order_id id, status text:16, total_cents id, "
                              "created_at ts"), ("customer_id", "order_id"),
              foreign_keys=((("customer_id",), "customers", ("customer_id",)),),
              indexes=(("created_at",),)),
    ShopTable("order_items", _cols("customer_id id, order_id id, line int, product_id id, "
                                   "quantity int, price_cents int"),
              ("customer_id", "order_id", "line"),
              foreign_keys=(
                  (("customer_id", "order_id"), "orders", ("customer_id", "order_id")),
                  (("product_id",), "products", ("product_id",)),
              ),
              indexes=(("product_id",),)),
    ShopTable("events", _cols("customer_id id, event_id id, created_at ts, kind text:16, "
                              "product_id id"), ("customer_id", "event_id", "created_at"),
              indexes=(("customer_id", "created_at"),), partitioned_by="created_at"),
    ShopTable("sessions", _cols("customer_id id, started_at ts, last_seen ts, cart_items int"),
              ("customer_id",),
              foreign_keys=((("customer_id",), "customers", ("customer_id",)),)),
    ShopTable("posts", _cols("customer_id id, post_id id, created_at ts, body text:200, "
                             "likes int"), ("customer_id", "post_id"),
              foreign_keys=((("customer_id",), "customers", ("customer_id",)),),
              indexes=(("customer_id", "created_at"), ("post_id",))),
    ShopTable("follows", _cols("customer_id id, followee_id id, created_at ts"),
              ("customer_id", "followee_id"),
              foreign_keys=((("customer_id",), "customers", ("customer_id",)),)),
    ShopTable("devices", _cols("device_id id, customer_id id, kind text:16"), ("device_id",),
              citus="device"),
    ShopTable("readings", _cols("device_id id, reading_id id, read_at ts, value int"),
              ("device_id", "reading_id"),
              foreign_keys=((("device_id",), "devices", ("device_id",)),),
              indexes=(("device_id", "read_at"),), citus="device"),
)
TABLE_NAMES = tuple(t.name for t in TABLES)


def table_named(name: str) -> ShopTable:
    return next(t for t in TABLES if t.name == name)


def sizes(scale: int) -> dict[str, int]:
    """Rows per table for scale N (order_items: the exact count depends on the seed)."""
    return {
        "customers": 1000 * scale,
        "products": 100 * scale,
        "inventory": 100 * scale,
        "orders": 2000 * scale,
        "events": 10_000 * scale,
        "sessions": 1000 * scale,
        "posts": 2000 * scale,
        "follows": FOLLOWS_PER_CUSTOMER * 1000 * scale,
        "devices": 200 * scale,
        "readings": 10_000 * scale,
    }


Row = tuple[Any, ...]  # ts columns hold an age in whole seconds


def generate(scale: int, seed: int) -> dict[str, list[Row]]:
    """Every table's rows, in key order. Deterministic in (scale, seed)."""
    rng = random.Random(seed)
    rand, randint = rng.random, rng.randint
    n = sizes(scale)
    customers, products = n["customers"], n["products"]

    def age() -> int:
        return int(rand() * SPAN_S)

    data: dict[str, list[Row]] = {}
    data["customers"] = [
        (c, f"customer {c}", f"c{c}@example.com", COUNTRIES[c % len(COUNTRIES)], SPAN_S + age())
        for c in range(1, customers + 1)
    ]
    prices = [100 + int(rand() * 19_900) for _ in range(products)]
    data["products"] = [
        (p, f"product {p}", CATEGORIES[p % len(CATEGORIES)], prices[p - 1])
        for p in range(1, products + 1)
    ]
    data["inventory"] = [(p, INITIAL_STOCK, SPAN_S) for p in range(1, products + 1)]
    orders: list[Row] = []
    items: list[Row] = []
    for o in range(1, n["orders"] + 1):
        customer = randint(1, customers)
        lines = randint(1, 4)
        total = 0
        for line in range(1, lines + 1):
            product, quantity = randint(1, products), randint(1, 3)
            items.append((customer, o, line, product, quantity, prices[product - 1]))
            total += quantity * prices[product - 1]
        orders.append((customer, o, ORDER_STATUSES[o % len(ORDER_STATUSES)], total, age()))
    data["orders"] = sorted(orders)
    data["order_items"] = sorted(items)
    data["events"] = sorted(
        (randint(1, customers), e, age(), EVENT_KINDS[e % len(EVENT_KINDS)],
         randint(1, products))
        for e in range(1, n["events"] + 1)
    )
    data["sessions"] = [(c, age(), int(rand() * 3600), 0) for c in range(1, customers + 1)]
    data["posts"] = sorted(
        (randint(1, customers), p, age(), f"post {p} {rng.getrandbits(160):040x}", 0)
        for p in range(1, n["posts"] + 1)
    )
    follows: list[Row] = []
    for c in range(1, customers + 1):
        followees = rng.sample(range(1, customers + 1), min(FOLLOWS_PER_CUSTOMER, customers))
        follows.extend((c, f, age()) for f in sorted(followees))
    data["follows"] = follows
    data["devices"] = [
        (d, randint(1, customers), DEVICE_KINDS[d % len(DEVICE_KINDS)])
        for d in range(1, n["devices"] + 1)
    ]
    data["readings"] = sorted(
        (randint(1, n["devices"]), r, age(), int(rand() * 1000))
        for r in range(1, n["readings"] + 1)
    )
    return data


def checksum(table: ShopTable, rows: Sequence[Row]) -> str:
    """sha256 over the rows in key order, each as its values joined by | (ts as the age)."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(("|".join(str(v) for v in row) + "\n").encode())
    return digest.hexdigest()


def _tsv(table: ShopTable, rows: Sequence[Row], anchor: datetime, *, zone: str) -> Iterator[str]:
    """Tab-separated rows, each ts column written as the anchor minus its age."""
    stamps = [i for i, c in enumerate(table.columns) if c.kind == "ts"]
    base = anchor.replace(tzinfo=None)
    cache: dict[int, str] = {}
    for row in rows:
        values = [str(v) for v in row]
        for i in stamps:
            seconds = row[i]
            text = cache.get(seconds)
            if text is None:
                text = cache[seconds] = (base - timedelta(seconds=seconds)).isoformat(" ") + zone
            values[i] = text
        yield "\t".join(values) + "\n"


@dataclass(frozen=True)
class ShopLoad:
    cluster: str
    node: str
    seed: int
    scale: int
    anchor: datetime
    seconds: float
    tables: tuple[tuple[str, int, str], ...]  # name, rows, checksum

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": "shop",
            "cluster": self.cluster,
            "node": self.node,
            "seed": self.seed,
            "scale": self.scale,
            "anchor": self.anchor.isoformat(),
            "seconds": round(self.seconds, 3),
            "tables": [
                {"table": f"{SCHEMA}.{name}", "rows": rows, "checksum": digest}
                for name, rows, digest in self.tables
            ],
        }


def load_shop(
    cluster: ClusterConfig, *, scale: int, seed: int = 1, progress: Progress = lambda _m: None
) -> ShopLoad:
    """Drop and recreate the shop schema on the cluster's primary (Citus: its coordinator)
    and load it with LOAD DATA LOCAL INFILE or COPY."""
    if not 1 <= scale <= MAX_SCALE:
        raise InputError("--scale", scale, f"must be 1 to {MAX_SCALE}")
    node = find_writable(cluster.nodes)
    started = time.perf_counter()
    progress(f"{cluster.name}: generating the shop data set, scale {scale} (seed {seed})")
    data = generate(scale, seed)
    anchor = datetime.now(UTC).replace(microsecond=0)
    sums = tuple((t.name, len(data[t.name]), checksum(t, data[t.name])) for t in TABLES)
    if node.family == "mysql":
        _load_mysql(node, data, anchor, progress)
    else:
        _load_postgres(node, data, anchor, cluster.engine == "citus", progress)
    _record(node, seed, scale, anchor, sums)
    return ShopLoad(cluster.name, node.name, seed, scale, anchor,
                    time.perf_counter() - started, sums)


def _days(anchor: datetime) -> tuple[Any, Any]:
    first = (anchor - timedelta(seconds=SPAN_S)).date()
    return first, anchor.date() + timedelta(days=FUTURE_DAYS)


def _load_mysql(node: NodeSpec, data: dict[str, list[Row]], anchor: datetime,
                progress: Progress) -> None:
    sql = statements_for("mysql")
    conn = connect_mysql(node, connect_timeout=5, local_infile=True)
    with contextlib.closing(conn), conn.cursor() as cur:
        cur.execute(sql.SHOP_DROP_SCHEMA)
        cur.execute(sql.SHOP_CREATE_SCHEMA)
        # Loaded in key order, parents first: the checks would only slow the load.
        cur.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
        for table in TABLES:
            cur.execute(sql.shop_create_table(table, *_days(anchor)))
        for table in TABLES:
            progress(f"{node.cluster}: loading {SCHEMA}.{table.name}")
            fd, path = tempfile.mkstemp(prefix=f"clustertop-shop-{table.name}-", suffix=".tsv")
            try:
                with os.fdopen(fd, "w") as fh:
                    fh.writelines(_tsv(table, data[table.name], anchor, zone=""))
                cur.execute(sql.shop_load_tsv(table), (path,))
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(path)
        cur.execute("SET SESSION foreign_key_checks = 1, unique_checks = 1")
        for table in TABLES:
            cur.execute(f"ANALYZE TABLE `{SCHEMA}`.`{table.name}`")
            cur.fetchall()


def _load_postgres(node: NodeSpec, data: dict[str, list[Row]], anchor: datetime, citus: bool,
                   progress: Progress) -> None:
    sql = statements_for("postgres")
    with connect_postgres(node, connect_timeout=5) as conn:
        conn.execute(sql.SHOP_DROP_SCHEMA)
        conn.execute(sql.SHOP_CREATE_SCHEMA)
        for table in TABLES:
            for statement in sql.shop_create_table(table, *_days(anchor), citus=citus):
                conn.execute(statement)
            if citus:
                # Distributed before any row is copied: COPY through the coordinator then
                # routes each row to its shard.
                conn.execute(*sql.shop_distribute(table))
        for table in TABLES:
            progress(f"{node.cluster}: loading {SCHEMA}.{table.name}")
            text = "".join(_tsv(table, data[table.name], anchor, zone="+00")).encode()
            with conn.cursor() as cur, cur.copy(sql.shop_copy(table)) as copy:
                chunk = 8 << 20
                for offset in range(0, len(text), chunk):
                    copy.write(text[offset : offset + chunk])
        # Foreign keys once the rows are in: one check of the whole table instead of a row's
        # at a time, and on Citus only between tables already distributed.
        for table in TABLES:
            for statement in sql.shop_foreign_keys(table):
                conn.execute(statement)
        for table in TABLES:
            conn.execute(f'ANALYZE "{SCHEMA}"."{table.name}"')


def _record(node: NodeSpec, seed: int, scale: int, anchor: datetime,
            sums: Sequence[tuple[str, int, str]]) -> None:
    sql = statements_for(node.family)
    stamp = anchor.replace(tzinfo=None) if node.family == "mysql" else anchor
    rows = [(name, seed, scale, count, stamp, digest) for name, count, digest in sums]
    if node.family == "mysql":
        conn = connect_mysql(node, connect_timeout=5)
        with contextlib.closing(conn), conn.cursor() as cur:
            cur.execute(sql.SHOP_CREATE_LOAD_INFO)
            cur.executemany(sql.SHOP_RECORD_LOAD, rows)
        return
    with connect_postgres(node, connect_timeout=5) as pg_conn, pg_conn.cursor() as pg_cur:
        pg_cur.execute(sql.SHOP_CREATE_LOAD_INFO)
        pg_cur.executemany(sql.SHOP_RECORD_LOAD, rows)


# ---------------------------------------------------------------------------------------------
# Reading back: what the server holds now, checked independently of the generator.


@dataclass(frozen=True)
class ShopInfo:
    seed: int
    scale: int
    anchor: datetime
    tables: dict[str, tuple[int, str]]  # name -> rows, checksum at load


def read_shop_info(node: NodeSpec) -> ShopInfo | None:
    """What the shop schema was loaded with; None when it never was."""
    sql = statements_for(node.family)
    if node.family == "mysql":
        conn = connect_mysql(node, connect_timeout=5)
        with contextlib.closing(conn), conn.cursor() as cur:
            cur.execute(sql.SHOP_LOAD_INFO_EXISTS)
            if not cur.fetchone():
                return None
            cur.execute(sql.SHOP_READ_LOAD_INFO)
            rows = list(cur.fetchall())
    else:
        with connect_postgres(node, connect_timeout=5) as pg:
            exists = pg.execute(sql.SHOP_LOAD_INFO_EXISTS).fetchone()
            if not exists or exists[0] is None:
                return None
            rows = pg.execute(sql.SHOP_READ_LOAD_INFO).fetchall()
    if not rows:
        return None
    first = rows[0]
    anchor = first[4] if first[4].tzinfo else first[4].replace(tzinfo=UTC)
    return ShopInfo(int(first[1]), int(first[2]), anchor,
                    {str(r[0]): (int(r[3]), str(r[5])) for r in rows})


def table_checksum(node: NodeSpec, name: str, anchor: datetime) -> tuple[int, str]:
    """Row count and checksum of what the table holds now, read back in key order."""
    table = table_named(name)
    stamps = [i for i, c in enumerate(table.columns) if c.kind == "ts"]
    anchor_utc = anchor.astimezone(UTC)
    cols = ", ".join(table.column_names)
    statement = f"SELECT {cols} FROM {SCHEMA}.{name} ORDER BY {', '.join(table.key)}"
    digest = hashlib.sha256()
    count = 0

    def add(row: Sequence[Any]) -> None:
        nonlocal count
        values = list(row)
        for i in stamps:
            ts = values[i]
            ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
            values[i] = round((anchor_utc - ts).total_seconds())
        digest.update(("|".join(str(v) for v in values) + "\n").encode())
        count += 1

    for row in stream_rows(node, statement):
        add(row)
    return count, digest.hexdigest()
