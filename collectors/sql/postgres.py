"""Every statement the collectors send to PostgreSQL (and Citus)."""

NODE = """
SELECT current_setting('server_version'),
       pg_is_in_recovery(),
       extract(epoch FROM clock_timestamp() - pg_postmaster_start_time()),
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
       current_setting('max_connections')::int,
       (SELECT count(*) FROM pg_stat_activity
         WHERE backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid()),
       current_database(),
       pg_has_role('pg_read_all_stats', 'USAGE')
"""
# Timed every poll: the round trip of a statement that does nothing (the gate's probe_p95_ms).
PROBE = "SELECT 1"
# Counters summed over every database of the node; cumulative since the last stats reset.
COUNTERS = """
SELECT sum(xact_commit + xact_rollback)::bigint, sum(blks_hit)::bigint, sum(blks_read)::bigint,
       sum(tup_returned + tup_fetched)::bigint, sum(tup_inserted)::bigint,
       sum(tup_updated)::bigint, sum(tup_deleted)::bigint,
       max(coalesce(stats_reset, pg_postmaster_start_time())), sum(xact_rollback)::bigint
  FROM pg_stat_database
"""
WAL_POSITION = """
SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() - '0/0'::pg_lsn
            ELSE pg_current_wal_lsn() - '0/0'::pg_lsn END
"""
HAS_EXTENSION = "SELECT 1 FROM pg_extension WHERE extname = %s"
# showtext false: the query texts are not read, which is cheaper every poll, and a text the
# server cannot decode (seen with NUL bytes during a Citus shard move) cannot fail the poll.
STATEMENT_CALLS = "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements(false)"
TOP_STATEMENTS = """
SELECT d.datname, left(s.query, 300), s.calls, s.total_exec_time, s.mean_exec_time, s.rows
  FROM pg_stat_statements s LEFT JOIN pg_database d ON d.oid = s.dbid
 ORDER BY s.total_exec_time DESC LIMIT %s
"""
# Without the texts: where reading them fails (see PostgresCollector._statements).
TOP_STATEMENTS_NO_TEXT = """
SELECT d.datname, '(text not read) queryid ' || s.queryid, s.calls, s.total_exec_time,
       s.mean_exec_time, s.rows
  FROM pg_stat_statements(false) s LEFT JOIN pg_database d ON d.oid = s.dbid
 ORDER BY s.total_exec_time DESC LIMIT %s
"""
CITUS_GROUP = "SELECT groupid FROM pg_dist_local_group"
TABLE_EXISTS = "SELECT to_regclass(%s)"

# Replay lag is 0 when everything received is replayed: the replay timestamp alone goes
# stale while the primary is idle.
STANDBY = """
SELECT r.status, r.sender_host, r.sender_port, pg_is_wal_replay_paused(),
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) END,
       pg_last_wal_replay_lsn()::text
  FROM (SELECT 1) AS one
  LEFT JOIN pg_stat_wal_receiver r ON true
"""
WAL_SENDERS = """
SELECT application_name, coalesce(host(client_addr), 'local'), state, sync_state,
       pg_wal_lsn_diff(pg_current_wal_lsn(), sent_lsn)::bigint,
       pg_wal_lsn_diff(pg_current_wal_lsn(), write_lsn)::bigint,
       pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn)::bigint,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint,
       extract(epoch FROM write_lag), extract(epoch FROM flush_lag),
       extract(epoch FROM replay_lag)
  FROM pg_stat_replication ORDER BY application_name
"""
SLOTS = """
SELECT slot_name, slot_type, active,
       CASE WHEN pg_is_in_recovery() THEN NULL
            ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint END
  FROM pg_replication_slots ORDER BY slot_name
"""

HEARTBEAT_CREATE_SCHEMA = 'CREATE SCHEMA IF NOT EXISTS "{schema}"'
HEARTBEAT_CREATE = (
    'CREATE TABLE IF NOT EXISTS "{schema}"."{table}" ('
    " system_identifier bigint PRIMARY KEY, ts timestamptz NOT NULL)"
)
SYSTEM_IDENTIFIER = "SELECT system_identifier FROM pg_control_system()"
HEARTBEAT_WRITE = (
    'INSERT INTO "{schema}"."{table}" (system_identifier, ts) VALUES (%s, clock_timestamp())'
    " ON CONFLICT (system_identifier) DO UPDATE SET ts = EXCLUDED.ts"
)
HEARTBEAT_READ = (
    "SELECT extract(epoch FROM clock_timestamp() - ts), extract(epoch FROM ts)"
    ' FROM "{schema}"."{table}" WHERE system_identifier = %s'
)
SERVER_CLOCK = "SELECT extract(epoch FROM clock_timestamp())"
# On the primary, before our first write: how old its own row is (fresh: another writer).
HEARTBEAT_AGE_HERE = (
    'SELECT extract(epoch FROM clock_timestamp() - ts) FROM "{schema}"."{table}"'
    " WHERE system_identifier = %s"
)

# Tables: a relation, or every leaf partition under it.
RELATION = """
SELECT c.oid, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = %s AND c.relname = %s
"""
# Tables as an operator names them: a partitioned table or a TimescaleDB hypertable is one
# table, sized with its partitions or chunks; the parts themselves (and TimescaleDB's own
# schemas) are not listed.
LARGEST_TABLES = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
   AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid)
   AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'
   AND n.nspname NOT LIKE '\\_timescaledb%%' AND n.nspname NOT LIKE 'timescaledb\\_%%'
 ORDER BY pg_total_relation_size(c.oid) + coalesce((
          SELECT sum(pg_total_relation_size(i.inhrelid)) FROM pg_inherits i
           WHERE i.inhparent = c.oid), 0) DESC
 LIMIT %s
"""
# A plain table is its own single leaf; pg_partition_tree() only answers for partitioned ones.
# A TimescaleDB hypertable's leaves are its chunks (inheritance children, which
# pg_partition_tree() does not see); its parent holds no rows.
LEAVES = """
WITH tree AS (
    SELECT relid::oid AS relid FROM pg_partition_tree(%(oid)s::oid::regclass) WHERE isleaf
    UNION
    SELECT i.inhrelid FROM pg_inherits i WHERE %(hypertable)s AND i.inhparent = %(oid)s::oid
    UNION
    SELECT %(oid)s::oid WHERE NOT EXISTS (SELECT 1 FROM pg_partition_tree(%(oid)s::oid::regclass))
       AND NOT (%(hypertable)s AND EXISTS (SELECT 1 FROM pg_inherits i
                                            WHERE i.inhparent = %(oid)s::oid))
)
SELECT t.relid, c.relname, c.reltuples::bigint, pg_relation_size(t.relid),
       pg_indexes_size(t.relid), coalesce(s.n_dead_tup, 0), coalesce(s.n_live_tup, 0),
       s.last_vacuum, s.last_autovacuum,
       pg_get_expr(c.relpartbound, c.oid),
       c.relfilenode, coalesce(s.n_tup_ins + s.n_tup_upd + s.n_tup_del, 0)
  FROM tree t
  JOIN pg_class c ON c.oid = t.relid
  LEFT JOIN pg_stat_user_tables s ON s.relid = t.relid
 ORDER BY c.relname
"""
APPROX_BLOAT = (
    "SELECT table_len, approx_free_space, dead_tuple_len FROM pgstattuple_approx(%s::oid)"
)
FLUSH_OWN_STATS = "SELECT pg_stat_force_next_flush()"  # PostgreSQL 15+
EXACT_COUNTS = 'SELECT tableoid::regclass::text, count(*) FROM "{schema}"."{table}" GROUP BY 1'

# Citus, read on the coordinator.
CITUS_NODES = """
SELECT nodename, nodeport, isactive, noderole::text, shouldhaveshards, groupid
  FROM pg_dist_node ORDER BY groupid, nodename, nodeport
"""
CITUS_SHARDS = """
SELECT table_name::text, shardid, shard_name, citus_table_type, colocation_id,
       nodename, nodeport, shard_size
  FROM citus_shards
"""
CITUS_REBALANCE = """
SELECT job_id, state::text, job_type::text, description, started_at, finished_at, details
  FROM citus_rebalance_status()
"""
# The shard group of each shard: colocated shards of one hash range move together.
SHARD_GROUP_OF = """
SELECT p.shardid, d.colocationid, p.shardminvalue
  FROM pg_dist_shard p JOIN pg_dist_partition d ON d.logicalrelid = p.logicalrelid
"""
CITUS_TENANT_SETTINGS = """
SELECT current_setting('citus.stat_tenants_track', true),
       current_setting('citus.stat_tenants_period', true)
"""
# The busiest tenants over the period under way and the one before, and the shard each lives
# in (named through the first hash-distributed table of its colocation group).
CITUS_TENANTS = """
WITH t AS (
  SELECT colocation_id, tenant_attribute,
         sum(query_count_in_this_period) AS q_now, sum(query_count_in_last_period) AS q_last,
         sum(cpu_usage_in_this_period) AS cpu_now, sum(cpu_usage_in_last_period) AS cpu_last
    FROM citus_stat_tenants
   GROUP BY 1, 2
   ORDER BY sum(query_count_in_this_period + query_count_in_last_period) DESC,
            sum(cpu_usage_in_this_period + cpu_usage_in_last_period) DESC
   LIMIT %s)
SELECT t.colocation_id, t.tenant_attribute, t.q_now, t.q_last, t.cpu_now, t.cpu_last,
       r.rel::text, get_shard_id_for_distribution_column(r.rel, t.tenant_attribute)
  FROM t
  JOIN LATERAL (SELECT logicalrelid AS rel FROM pg_dist_partition p
                 WHERE p.colocationid = t.colocation_id AND p.partmethod = 'h'
                 ORDER BY logicalrelid::text LIMIT 1) r ON true
"""

# -- Sessions, locks and progress (every poll) ----------------------------------------------------
# Client backends, worst first, capped; the blockers of a lock wait and the lock it waits for.
# pg_blocking_pids() is only asked for sessions waiting on a lock (it is not free).
SESSIONS = """
SELECT a.pid, a.usename, a.datname,
       coalesce(host(a.client_addr), CASE WHEN a.client_port = -1 THEN 'local' END),
       a.application_name, a.state,
       extract(epoch FROM clock_timestamp() - a.state_change),
       extract(epoch FROM clock_timestamp() - a.xact_start),
       a.wait_event_type, a.wait_event, left(a.query, 4000),
       CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid) END,
       l.locktype, l.mode, l.relation::regclass::text,
       extract(epoch FROM clock_timestamp() - l.waitstart),
       count(*) OVER ()
  FROM pg_stat_activity a
  LEFT JOIN LATERAL (
        SELECT k.locktype, k.mode, k.relation, k.waitstart FROM pg_locks k
         WHERE k.pid = a.pid AND NOT k.granted LIMIT 1) l ON a.wait_event_type = 'Lock'
 WHERE a.backend_type = 'client backend'
 ORDER BY a.wait_event_type = 'Lock' DESC, a.state = 'idle',
          coalesce(a.xact_start, a.state_change) NULLS LAST
 LIMIT %s
"""
# Long operations with the server's own measure of done and total, per view.
PROGRESS = """
SELECT pid, 'CREATE INDEX', relid::regclass::text, phase,
       CASE WHEN tuples_total > 0 THEN tuples_done ELSE blocks_done END,
       CASE WHEN tuples_total > 0 THEN tuples_total ELSE blocks_total END,
       CASE WHEN tuples_total > 0 THEN 'tuples' ELSE 'blocks' END
  FROM pg_stat_progress_create_index
UNION ALL
SELECT pid, 'VACUUM', relid::regclass::text, phase, heap_blks_scanned, heap_blks_total, 'blocks'
  FROM pg_stat_progress_vacuum
UNION ALL
SELECT pid, command, relid::regclass::text, phase, heap_blks_scanned, heap_blks_total, 'blocks'
  FROM pg_stat_progress_cluster
UNION ALL
SELECT pid, 'COPY ' || command, relid::regclass::text, type,
       CASE WHEN bytes_total > 0 THEN bytes_processed ELSE tuples_processed END,
       nullif(bytes_total, 0), CASE WHEN bytes_total > 0 THEN 'bytes' ELSE 'tuples' END
  FROM pg_stat_progress_copy
UNION ALL
SELECT pid, 'ANALYZE', relid::regclass::text, phase, sample_blks_scanned, sample_blks_total,
       'blocks'
  FROM pg_stat_progress_analyze
UNION ALL
SELECT pid, 'BASE BACKUP', NULL, phase, backup_streamed, backup_total, 'bytes'
  FROM pg_stat_progress_basebackup
"""

# -- table snapshots (clustertop snapshot / diff) ----------------------------------------------
SNAP_TABLE = """
SELECT c.reltuples::bigint, pg_total_relation_size(c.oid)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = %s AND c.relname = %s
"""
SNAP_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod),
       CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END, pg_get_expr(d.adbin, d.adrelid)
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum
"""
SNAP_INDEXES = """
SELECT i.relname, NOT x.indisunique, pg_get_indexdef(x.indexrelid)
  FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = %s AND c.relname = %s
 ORDER BY i.relname
"""
SNAP_CONSTRAINTS = """
SELECT k.conname, k.contype::text || ' ' || pg_get_constraintdef(k.oid)
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = %s AND c.relname = %s
 ORDER BY k.conname
"""
SNAP_PARTITIONS = """
SELECT ch.relname, pg_get_expr(ch.relpartbound, ch.oid)
  FROM pg_inherits h
  JOIN pg_class ch ON ch.oid = h.inhrelid JOIN pg_class p ON p.oid = h.inhparent
  JOIN pg_namespace n ON n.oid = p.relnamespace
 WHERE n.nspname = %s AND p.relname = %s
 ORDER BY ch.relname
"""
SNAP_COUNT = 'SELECT count(*) FROM "{schema}"."{table}"'
# An ordered hash of the rows over the given columns (the key's order): equal iff the same rows.
SNAP_CHECKSUM = (
    'SELECT count(*), coalesce(md5(string_agg(md5(row({columns})::text), \',\' ORDER BY {order})),'
    " '0') FROM \"{schema}\".\"{table}\""
)
