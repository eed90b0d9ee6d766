"""Every statement the collectors send to PostgreSQL."""

NODE = """
SELECT current_setting('server_version'),
       pg_is_in_recovery(),
       extract(epoch FROM now() - pg_postmaster_start_time()),
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
       current_setting('max_connections')::int,
       (SELECT count(*) FROM pg_stat_activity
         WHERE backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid()),
       (SELECT sum(blks_hit)::float8 / nullif(sum(blks_hit) + sum(blks_read), 0)
          FROM pg_stat_database)
"""
HAS_CITUS = "SELECT 1 FROM pg_extension WHERE extname = 'citus'"
CITUS_GROUP = "SELECT groupid FROM pg_dist_local_group"
# Replay lag is 0 when everything received is replayed; the replay timestamp alone goes stale
# while the primary is idle.
STANDBY = """
SELECT r.status, r.sender_host, r.sender_port, pg_is_wal_replay_paused(),
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END,
       pg_last_wal_replay_lsn()::text
  FROM (SELECT 1) AS one
  LEFT JOIN pg_stat_wal_receiver r ON true
"""
