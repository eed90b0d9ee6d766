"""Every statement the collectors send to MySQL/MariaDB."""

VERSION = "SELECT VERSION(), @@max_connections, @@server_id, @@innodb_page_size"
# Timed every poll: the round trip of a statement that does nothing (the gate's probe_p95_ms).
PROBE = "SELECT 1"
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

# -- Sessions, locks and progress (every poll) ----------------------------------------------------
# Client sessions, worst first, capped: the transaction each has open, the program that named
# the connection (performance_schema's connect attributes: clustertop's own say so), and
# MariaDB's progress columns. Replication and server threads are left out.
SESSIONS_MARIADB = (
    "SELECT p.ID, p.USER, p.DB, SUBSTRING_INDEX(p.HOST, ':', 1), a.ATTR_VALUE, p.COMMAND,"
    " p.STATE, p.TIME_MS / 1000, LEFT(p.INFO, 4000),"
    " TIMESTAMPDIFF(MICROSECOND, t.trx_started, NOW(6)) / 1e6, t.trx_state,"
    " TIMESTAMPDIFF(MICROSECOND, t.trx_wait_started, NOW(6)) / 1e6,"
    " p.STAGE, p.MAX_STAGE, p.PROGRESS, COUNT(*) OVER ()"
    " FROM information_schema.PROCESSLIST p"
    " LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID"
    " LEFT JOIN performance_schema.session_connect_attrs a"
    "   ON a.PROCESSLIST_ID = p.ID AND a.ATTR_NAME = 'program_name'"
    " WHERE p.COMMAND NOT IN ('Daemon', 'Binlog Dump', 'Binlog Dump GTID', 'Slave_IO',"
    "   'Slave_SQL', 'Slave_worker') AND p.USER <> 'system user'"
    " ORDER BY t.trx_state = 'LOCK WAIT' DESC, p.STATE LIKE 'Waiting for%%' DESC,"
    " p.COMMAND = 'Sleep' AND t.trx_started IS NULL, t.trx_started IS NULL, t.trx_started,"
    " p.TIME_MS DESC LIMIT %s"
)
# MySQL 8: no progress columns in its processlist (events_stages_current has them).
SESSIONS_MYSQL = (
    SESSIONS_MARIADB.replace("p.TIME_MS / 1000", "p.TIME")
    .replace("p.STAGE, p.MAX_STAGE, p.PROGRESS", "NULL, NULL, NULL")
    .replace("p.TIME_MS DESC", "p.TIME DESC")
)
# Row-lock waits: who waits behind whom, and on which lock.
LOCK_WAITS_MARIADB = (
    "SELECT r.trx_mysql_thread_id, b.trx_mysql_thread_id, l.lock_table, l.lock_mode,"
    " l.lock_type"
    " FROM information_schema.INNODB_LOCK_WAITS w"
    " JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id"
    " JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id"
    " LEFT JOIN information_schema.INNODB_LOCKS l ON l.lock_id = w.requested_lock_id"
)
LOCK_WAITS_MYSQL = (
    "SELECT r.trx_mysql_thread_id, b.trx_mysql_thread_id,"
    " CONCAT(dl.OBJECT_SCHEMA, '.', dl.OBJECT_NAME), dl.LOCK_MODE, dl.LOCK_TYPE"
    " FROM performance_schema.data_lock_waits w"
    " JOIN information_schema.INNODB_TRX r ON r.trx_id = w.REQUESTING_ENGINE_TRANSACTION_ID"
    " JOIN information_schema.INNODB_TRX b ON b.trx_id = w.BLOCKING_ENGINE_TRANSACTION_ID"
    " LEFT JOIN performance_schema.data_locks dl"
    "   ON dl.ENGINE_LOCK_ID = w.REQUESTING_ENGINE_LOCK_ID"
)
# Metadata locks held (MariaDB: the METADATA_LOCK_INFO plugin lists granted ones only).
MDL_PLUGIN = (
    "SELECT COUNT(*) FROM information_schema.PLUGINS"
    " WHERE PLUGIN_NAME = 'METADATA_LOCK_INFO' AND PLUGIN_STATUS = 'ACTIVE'"
)
MDL_HELD_MARIADB = (
    "SELECT THREAD_ID, LOCK_MODE, TABLE_SCHEMA, TABLE_NAME"
    " FROM information_schema.METADATA_LOCK_INFO WHERE TABLE_NAME <> ''"
)
# MySQL 8: performance_schema.metadata_locks, granted ones by the processlist id.
MDL_HELD_MYSQL = (
    "SELECT t.PROCESSLIST_ID, m.LOCK_TYPE, m.OBJECT_SCHEMA, m.OBJECT_NAME"
    " FROM performance_schema.metadata_locks m"
    " JOIN performance_schema.threads t ON t.THREAD_ID = m.OWNER_THREAD_ID"
    " WHERE m.OBJECT_TYPE = 'TABLE' AND m.LOCK_STATUS = 'GRANTED'"
)
PROGRESS_MYSQL = (
    "SELECT t.PROCESSLIST_ID, s.EVENT_NAME, s.WORK_COMPLETED, s.WORK_ESTIMATED"
    " FROM performance_schema.events_stages_current s"
    " JOIN performance_schema.threads t ON t.THREAD_ID = s.THREAD_ID"
    " WHERE s.WORK_ESTIMATED > 0"
)

# -- table snapshots (clustertop snapshot / diff) ----------------------------------------------
SNAP_TABLE = (
    "SELECT TABLE_ROWS, DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES"
    " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s"
)
SNAP_COLUMNS = (
    "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT FROM information_schema.COLUMNS"
    " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION"
)
SNAP_INDEXES = (
    "SELECT INDEX_NAME, NON_UNIQUE, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX)"
    " FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s"
    " GROUP BY INDEX_NAME, NON_UNIQUE ORDER BY INDEX_NAME"
)
SNAP_CONSTRAINTS = (
    "SELECT CONSTRAINT_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS"
    " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY CONSTRAINT_NAME"
)
SNAP_PARTITIONS = (
    "SELECT PARTITION_NAME, PARTITION_DESCRIPTION FROM information_schema.PARTITIONS"
    " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND PARTITION_NAME IS NOT NULL"
    " ORDER BY PARTITION_ORDINAL_POSITION"
)
SNAP_COUNT = "SELECT COUNT(*) FROM `{schema}`.`{table}`"
# pt-table-checksum's way: the XOR of every row's CRC32 over the given columns (NULLs marked),
# with the count beside it; order-free, so no sort of the table.
SNAP_CHECKSUM = (
    "SELECT COUNT(*), COALESCE(LOWER(CONV(BIT_XOR(CAST(CRC32(CONCAT_WS('#', {columns}))"
    " AS UNSIGNED)), 10, 16)), '0') FROM `{schema}`.`{table}`"
)
