"""Every statement the collectors send to MySQL/MariaDB."""

VERSION = "SELECT VERSION(), @@max_connections, @@server_id, @@innodb_page_size"
GLOBAL_STATUS = (
    "SHOW GLOBAL STATUS WHERE Variable_name IN ("
    "'Uptime', 'Threads_connected', 'Threads_running', 'Questions',"
    " 'Com_commit', 'Com_rollback', 'Innodb_rows_read', 'Innodb_rows_inserted',"
    " 'Innodb_rows_updated', 'Innodb_rows_deleted', 'Binlog_bytes_written',"
    " 'Rows_read', 'Handler_write', 'Handler_update', 'Handler_delete',"
    " 'Innodb_buffer_pool_read_requests', 'Innodb_buffer_pool_reads')"
)
# Exact transaction counts, autocommit statements included; only when the operator (or the
# lab) enabled these InnoDB monitors. Otherwise Com_commit + Com_rollback is what there is.
TRX_METRICS = (
    "SELECT name, count, enabled FROM information_schema.INNODB_METRICS WHERE name IN"
    " ('trx_rw_commits', 'trx_ro_commits', 'trx_nl_ro_commits', 'trx_rollbacks')"
)
TRX_METRICS_MYSQL = TRX_METRICS.replace("enabled", "status = 'enabled'")
# MariaDB answers only to the old names; MySQL 8.0.22+ has the new ones.
REPLICA_STATUS_MARIADB = "SHOW ALL SLAVES STATUS"
REPLICA_STATUS_MYSQL = "SHOW REPLICA STATUS"

HEARTBEAT_CREATE_SCHEMA = "CREATE DATABASE IF NOT EXISTS `{schema}`"
HEARTBEAT_CREATE = (
    "CREATE TABLE IF NOT EXISTS `{schema}`.`{table}` ("
    " server_id INT UNSIGNED NOT NULL PRIMARY KEY, ts DATETIME(6) NOT NULL) ENGINE=InnoDB"
)
HEARTBEAT_WRITE = (
    "INSERT INTO `{schema}`.`{table}` (server_id, ts) VALUES (@@server_id, UTC_TIMESTAMP(6))"
    " ON DUPLICATE KEY UPDATE ts = VALUES(ts)"
)
# Sessions run with time_zone '+00:00', so UNIX_TIMESTAMP reads the UTC values right.
HEARTBEAT_READ = (
    "SELECT TIMESTAMPDIFF(MICROSECOND, ts, UTC_TIMESTAMP(6)) / 1e6, UNIX_TIMESTAMP(ts)"
    " FROM `{schema}`.`{table}` WHERE server_id = %s"
)
SERVER_CLOCK = "SELECT UNIX_TIMESTAMP(UTC_TIMESTAMP(6))"
# On the primary, before our first write: how old its own row is (fresh: another writer).
HEARTBEAT_AGE_HERE = (
    "SELECT TIMESTAMPDIFF(MICROSECOND, ts, UTC_TIMESTAMP(6)) / 1e6"
    " FROM `{schema}`.`{table}` WHERE server_id = @@server_id"
)

STATEMENTS_ENABLED = "SELECT @@performance_schema"
TOP_STATEMENTS = (
    "SELECT SCHEMA_NAME, LEFT(DIGEST_TEXT, 300), COUNT_STAR, SUM_TIMER_WAIT / 1e9,"
    " AVG_TIMER_WAIT / 1e9, SUM_ROWS_SENT + SUM_ROWS_AFFECTED"
    " FROM performance_schema.events_statements_summary_by_digest"
    " WHERE DIGEST_TEXT IS NOT NULL ORDER BY SUM_TIMER_WAIT DESC LIMIT %s"
)

TABLE_SIZES = (
    "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_ROWS, DATA_LENGTH, INDEX_LENGTH, DATA_FREE,"
    " CREATE_OPTIONS LIKE '%%partitioned%%'"
    " FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s"
)
LARGEST_TABLES = (
    "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES"
    " WHERE TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')"
    " AND TABLE_TYPE = 'BASE TABLE' ORDER BY DATA_LENGTH + INDEX_LENGTH DESC LIMIT %s"
)
# Leaf pages in use, summed over a table's indexes, per tablespace: a partition's statistics
# are stored under t#P#p (MariaDB) or t#p#p (MySQL 8).
LEAF_PAGES = (
    "SELECT table_name, SUM(stat_value), MAX(last_update)"
    " FROM mysql.innodb_index_stats"
    " WHERE database_name = %s AND (table_name = %s OR table_name LIKE %s)"
    " AND stat_name = 'n_leaf_pages' GROUP BY table_name"
)
# The real size of each file-per-table tablespace, current at every read (the sizes in
# information_schema.TABLES come from statistics and can be minutes old).
TABLESPACE_FILES_MARIADB = (
    "SELECT NAME, FILE_SIZE FROM information_schema.INNODB_SYS_TABLESPACES"
    " WHERE NAME = %s OR NAME LIKE %s"
)
TABLESPACE_FILES_MYSQL = TABLESPACE_FILES_MARIADB.replace(
    "INNODB_SYS_TABLESPACES", "INNODB_TABLESPACES"
)
TABLE_STATS_ROWS = (
    "SELECT SUM(n_rows), MAX(last_update) FROM mysql.innodb_table_stats"
    " WHERE database_name = %s AND (table_name = %s OR table_name LIKE %s)"
)
PARTITIONS = (
    "SELECT PARTITION_NAME, TABLE_ROWS, DATA_LENGTH, INDEX_LENGTH, DATA_FREE"
    " FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s"
    " AND PARTITION_NAME IS NOT NULL ORDER BY PARTITION_ORDINAL_POSITION"
)
TABLE_COUNT = "SELECT COUNT(*) FROM `{schema}`.`{table}`"
PARTITION_COUNT = "SELECT %s, COUNT(*) FROM `{schema}`.`{table}` PARTITION (`{partition}`)"
