"""Every SQL statement the actions send to MySQL/MariaDB."""

from __future__ import annotations

from datetime import date, timedelta

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
