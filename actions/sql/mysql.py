"""Every SQL statement the actions send to MySQL/MariaDB."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

SCHEMA = "cleanup_bench"

CREATE_SCHEMA = f"CREATE DATABASE IF NOT EXISTS `{SCHEMA}`"
DROP_TABLE = "DROP TABLE IF EXISTS `{schema}`.`{table}`"

# The partitioned table's key must hold the partitioning column, so it is (id, ts) there.
_COLUMNS = """
    id BIGINT NOT NULL AUTO_INCREMENT,
    ts DATETIME(6) NOT NULL,
    user_id INT NOT NULL,
    status VARCHAR(16) NOT NULL,
    amount DECIMAL(10,2) NOT NULL,
    payload VARCHAR(255) NOT NULL,
"""

CREATE_PLAIN_TABLE = (
    "CREATE TABLE `{schema}`.`{table}` ("
    + _COLUMNS
    + " PRIMARY KEY (id), KEY ix_ts (ts)) ENGINE=InnoDB"
)

CREATE_PARTITIONED_TABLE = (
    "CREATE TABLE `{schema}`.`{table}` ("
    + _COLUMNS
    + " PRIMARY KEY (id, ts), KEY ix_ts (ts)) ENGINE=InnoDB"
    " PARTITION BY RANGE (TO_DAYS(ts)) ({partitions})"
)


def daily_partitions(first: date, last: date) -> str:
    """One partition per day from `first` to `last`, then pFUTURE for everything later."""
    parts = []
    day = first
    while day <= last:
        upper = day + timedelta(days=1)
        parts.append(f"PARTITION p{day:%Y%m%d} VALUES LESS THAN (TO_DAYS('{upper:%Y-%m-%d}'))")
        day = upper
    parts.append("PARTITION pFUTURE VALUES LESS THAN MAXVALUE")
    return ", ".join(parts)


LOAD_TSV = (
    "LOAD DATA LOCAL INFILE %s INTO TABLE `{schema}`.`{table}`"
    " FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n'"
    " (id, ts, user_id, status, amount, payload)"
)

CREATE_SEED_INFO = (
    "CREATE TABLE IF NOT EXISTS `{schema}`.seed_info ("
    " table_name VARCHAR(64) PRIMARY KEY, seed BIGINT NOT NULL, `rows` BIGINT NOT NULL,"
    " anchor DATETIME(6) NOT NULL, checksum CHAR(64) NOT NULL,"
    " loaded_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB"
)
RECORD_SEED = (
    "REPLACE INTO `{schema}`.seed_info (table_name, seed, `rows`, anchor, checksum)"
    " VALUES (%s, %s, %s, %s, %s)"
)
READ_SEED_INFO = "SELECT table_name, seed, `rows`, anchor, checksum FROM `{schema}`.seed_info"
SEED_ROWS = "SELECT id, ts, user_id, status, amount, payload FROM `{schema}`.`{table}` ORDER BY id"
COUNT_ROWS = "SELECT COUNT(*) FROM `{schema}`.`{table}`"
SEED_INFO_EXISTS = (
    "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = 'seed_info'"
)

# -- workloads --------------------------------------------------------------------------------
TABLE_COLUMNS = (
    "SELECT COLUMN_NAME, DATA_TYPE, IS_NULLABLE = 'YES', EXTRA LIKE '%%auto_increment%%',"
    " CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, COLUMN_KEY = 'PRI'"
    " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s"
    " ORDER BY ORDINAL_POSITION"
)
KEY_RANGE = "SELECT MIN(`{key}`), MAX(`{key}`) FROM `{schema}`.`{table}`"

# -- cleanups ---------------------------------------------------------------------------------
# {table}, {new}, {old} are quoted SCHEMA.TABLE names; {key} and {ts} quoted column names; the
# names come from information_schema and validated input, never from free text.
CLEANUP_NOW = "SELECT UTC_TIMESTAMP(6)"
HIGH_WATER = "SELECT COALESCE(MAX({key}), 0) FROM {table}"
COUNT_ALL = "SELECT COUNT(*) FROM {table}"
# "Older than the cutoff at start": rows that existed then (key <= the high-water mark), so rows
# written during the run, whatever their timestamp, are never taken.
COUNT_OLDER = "SELECT COUNT(*) FROM {table} WHERE {ts} < %s AND {key} <= %s"
COUNT_OLDER_ALL = "SELECT COUNT(*) FROM {table} WHERE {ts} < %s"
CHUNK_END = (
    "SELECT MAX({key}) FROM (SELECT {key} FROM {table} WHERE {key} > %s AND {key} <= %s{older}"
    " ORDER BY {key} LIMIT %s) AS chunk"
)
CHUNK_OLDER = " AND {ts} < %s"
DELETE_CHUNK = "DELETE FROM {table} WHERE {key} > %s AND {key} <= %s AND {ts} < %s"
# The doomed set: the keys of the rows older than the cutoff when the run starts, fixed then.
# batch_delete deletes exactly these (if still older); copy keeps every row but these (unless
# made newer): a row written or moved into the past during the run is never taken. A
# TEMPORARY table for batch_delete (its own session only); a real one for copy, whose
# triggers run in the application's sessions. Filled from a consistent read (READ COMMITTED):
# no row lock held on the table while the keys are read.
DOOMED_CREATE = (
    "CREATE {temporary}TABLE {doomed} ({key} BIGINT NOT NULL PRIMARY KEY) ENGINE=InnoDB"
)
DOOMED_FILL = "INSERT INTO {doomed} ({key}) SELECT {key} FROM {table} WHERE {ts} < %s AND {key} <= %s"
DOOMED_DROP = "DROP {temporary}TABLE IF EXISTS {doomed}"
DOOMED_COUNT = "SELECT COUNT(*) FROM {doomed}"
DOOMED_CHUNK_END = (
    "SELECT MAX({key}) FROM (SELECT {key} FROM {doomed} WHERE {key} > %s"
    " ORDER BY {key} LIMIT %s) AS chunk"
)
# The key range bounds the rows read; the IN is a primary-key lookup per row. (MariaDB refuses a
# multi-table DELETE by alias when the session has no current database.)
DELETE_DOOMED_CHUNK = (
    "DELETE FROM {table} WHERE {key} > %s AND {key} <= %s AND {ts} < %s"
    " AND {key} IN (SELECT {key} FROM {doomed} WHERE {key} > %s AND {key} <= %s)"
)
# Of the doomed keys: how many, gone from `source` (deleted by others), made newer by others.
DOOMED_ACCOUNT = (
    "SELECT COUNT(*), COALESCE(SUM(t.{key} IS NULL), 0), COALESCE(SUM(t.{ts} >= %s), 0)"
    " FROM {doomed} d LEFT JOIN {source} t ON t.{key} = d.{key}"
)
# What the copy keeps of a row: newer than the cutoff, or not among the doomed.
KEEP = "{row}.{ts} >= {cutoff} OR NOT EXISTS (SELECT 1 FROM {doomed} dk WHERE dk.{key} = {row}.{key})"
LOCK_WRITE = "LOCK TABLES {table} WRITE"
UNLOCK = "UNLOCK TABLES"
TRUNCATE = "TRUNCATE TABLE {table}"
SESSION_LOCK_WAIT = "SET SESSION lock_wait_timeout = %s"

PARTITIONS = (
    "SELECT PARTITION_NAME, PARTITION_METHOD, PARTITION_EXPRESSION, PARTITION_DESCRIPTION"
    " FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s"
    " AND PARTITION_NAME IS NOT NULL ORDER BY PARTITION_ORDINAL_POSITION"
)
COUNT_PARTITION = "SELECT COUNT(*) FROM {table} PARTITION ({partition})"
COUNT_PARTITION_OLDER = "SELECT COUNT(*) FROM {table} PARTITION ({partition}) WHERE {ts} < %s"
DROP_PARTITION = "ALTER TABLE {table} DROP PARTITION {partition}"
ADD_PARTITION = (
    "ALTER TABLE {table} REORGANIZE PARTITION {catch_all} INTO ({partitions},"
    " PARTITION {catch_all} VALUES LESS THAN MAXVALUE)"
)
ADD_PARTITIONS = "ALTER TABLE {table} ADD PARTITION ({partitions})"
PARTITION_DEF = "PARTITION {name} VALUES LESS THAN (TO_DAYS('{upper}'))"

TABLE_EXISTS = "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s"
CREATE_LIKE = "CREATE TABLE {new} LIKE {table}"
DROP_TABLE_Q = "DROP TABLE IF EXISTS {name}"
COPY_TRIGGERS = (
    "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS"
    " WHERE EVENT_OBJECT_SCHEMA = %s AND TRIGGER_NAME LIKE %s"
)
DROP_TRIGGER = "DROP TRIGGER IF EXISTS {schema}.{name}"
# Keep = what the copy keeps: newer than the cutoff, or written after the start.
TRIGGER_INSERT = (
    "CREATE TRIGGER {schema}.{name} AFTER INSERT ON {table} FOR EACH ROW"
    " BEGIN IF {keep_new} THEN REPLACE INTO {new} ({columns}) VALUES ({new_values}); END IF; END"
)
TRIGGER_UPDATE = (
    "CREATE TRIGGER {schema}.{name} AFTER UPDATE ON {table} FOR EACH ROW"
    " BEGIN DELETE IGNORE FROM {new} WHERE {key} = OLD.{key};"
    " IF {keep_new} THEN REPLACE INTO {new} ({columns}) VALUES ({new_values}); END IF; END"
)
TRIGGER_DELETE = (
    "CREATE TRIGGER {schema}.{name} AFTER DELETE ON {table} FOR EACH ROW"
    " DELETE IGNORE FROM {new} WHERE {key} = OLD.{key}"
)
# A copy chunk reads its rows with a shared lock, so a row being changed is copied after the
# change commits (and the trigger has written it), never resurrected from before it - but SKIP
# LOCKED, so the chunk never waits for an application's row: the application's statement is
# the one that must not fail, and a waiting chunk holding hundreds of locks makes the
# application's one-row write InnoDB's deadlock victim. Rows skipped here are in flight in
# another transaction; the copy comes back for them (COPY_KEY) once it is over. The rows travel
# through the client and go back as one multi-row INSERT: an INSERT ... SELECT would hold the
# new table's AUTO-INC lock (innodb_autoinc_lock_mode 1) for the whole chunk, and the triggers'
# writes into the new table queue behind it.
COPY_ISOLATION = "SET TRANSACTION ISOLATION LEVEL READ COMMITTED"
COPY_SELECT = (
    "SELECT {columns} FROM {table} o WHERE o.{key} > %s AND o.{key} <= %s AND ({keep_o})"
    " ORDER BY o.{key} {share_skip_locked}"
)
# MariaDB 10.6+ spells it LOCK IN SHARE MODE SKIP LOCKED, MySQL 8.0 FOR SHARE SKIP LOCKED; an
# older server has no SKIP LOCKED, and its chunks wait for the application's rows as before.
SHARE_SKIP_LOCKED = {
    "mariadb": "LOCK IN SHARE MODE SKIP LOCKED",
    "mysql": "FOR SHARE SKIP LOCKED",
    "old": "LOCK IN SHARE MODE",
}
COPY_SELECT_KEY = (
    "SELECT {columns} FROM {table} o WHERE o.{key} = %s AND ({keep_o}) LOCK IN SHARE MODE"
)
COPY_INSERT = "INSERT IGNORE INTO {new} ({columns}) VALUES ({placeholders})"
# Keys the copy should hold and does not (yet): rows skipped as locked, read without locks.
UNCOPIED = (
    "SELECT o.{key} FROM {table} o LEFT JOIN {new} n ON n.{key} = o.{key}"
    " WHERE o.{key} > %s AND o.{key} <= %s AND ({keep_o}) AND n.{key} IS NULL"
)
SESSION_ROW_LOCK_WAIT = "SET SESSION innodb_lock_wait_timeout = %s"
SWAP = "RENAME TABLE {table} TO {old}, {new} TO {table}"
REFERENCED_BY = (
    "SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) FROM information_schema.KEY_COLUMN_USAGE"
    " WHERE REFERENCED_TABLE_SCHEMA = %s AND REFERENCED_TABLE_NAME = %s LIMIT 1"
)

BINLOG_BYTES = "SHOW BINARY LOGS"
# "History list length N" in its text: current, where the INNODB_METRICS counter lags.
INNODB_STATUS = "SHOW ENGINE INNODB STATUS"
ANALYZE_LOCAL = "ANALYZE NO_WRITE_TO_BINLOG TABLE {table}"
OPTIMIZE = "OPTIMIZE TABLE {table}"
ANALYZE = "ANALYZE TABLE {table}"

# -- Ending a session ---------------------------------------------------------------------------
KILL_QUERY = "KILL QUERY %s"
KILL_CONNECTION = "KILL CONNECTION %s"


# -- the shop data set (actions/shop.py) ------------------------------------------------------

SHOP_SCHEMA = "shop"
SHOP_DROP_SCHEMA = f"DROP DATABASE IF EXISTS `{SHOP_SCHEMA}`"
SHOP_CREATE_SCHEMA = f"CREATE DATABASE `{SHOP_SCHEMA}`"
_SHOP_TYPES = {"id": "BIGINT NOT NULL", "int": "INT NOT NULL", "ts": "DATETIME(6) NOT NULL"}


def _shop_type(kind: str) -> str:
    if kind.startswith("text:"):
        return f"VARCHAR({kind.removeprefix('text:')}) NOT NULL"
    return _SHOP_TYPES[kind]


def shop_create_table(table: Any, first: date, last: date) -> str:
    """CREATE TABLE of a shop table (actions.shop.ShopTable), its keys inline. A partitioned
    table has no foreign keys: InnoDB refuses them there."""
    parts = [f"`{c.name}` {_shop_type(c.kind)}" for c in table.columns]
    parts.append(f"PRIMARY KEY ({', '.join(table.key)})")
    parts.extend(f"KEY ix_{'_'.join(cols)} ({', '.join(cols)})" for cols in table.indexes)
    if table.partitioned_by is None:
        parts.extend(
            f"FOREIGN KEY ({', '.join(cols)}) REFERENCES `{SHOP_SCHEMA}`.`{parent}` "
            f"({', '.join(parent_cols)})"
            for cols, parent, parent_cols in table.foreign_keys
        )
    ddl = f"CREATE TABLE `{SHOP_SCHEMA}`.`{table.name}` ({', '.join(parts)}) ENGINE=InnoDB"
    if table.partitioned_by:
        ddl += (
            f" PARTITION BY RANGE (TO_DAYS({table.partitioned_by})) "
            f"({daily_partitions(first, last)})"
        )
    return ddl


def shop_load_tsv(table: Any) -> str:
    return (
        f"LOAD DATA LOCAL INFILE %s INTO TABLE `{SHOP_SCHEMA}`.`{table.name}`"
        " FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n'"
        f" ({', '.join(table.column_names)})"
    )


SHOP_CREATE_LOAD_INFO = (
    f"CREATE TABLE IF NOT EXISTS `{SHOP_SCHEMA}`.load_info ("
    " table_name VARCHAR(64) PRIMARY KEY, seed BIGINT NOT NULL, scale INT NOT NULL,"
    " `rows` BIGINT NOT NULL, anchor DATETIME NOT NULL, checksum CHAR(64) NOT NULL)"
)
SHOP_RECORD_LOAD = (
    f"REPLACE INTO `{SHOP_SCHEMA}`.load_info (table_name, seed, scale, `rows`, anchor, checksum)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
)
SHOP_LOAD_INFO_EXISTS = (
    "SELECT 1 FROM information_schema.tables"
    f" WHERE table_schema = '{SHOP_SCHEMA}' AND table_name = 'load_info'"
)
SHOP_READ_LOAD_INFO = (
    f"SELECT table_name, seed, scale, `rows`, anchor, checksum FROM `{SHOP_SCHEMA}`.load_info"
    " ORDER BY table_name"
)
