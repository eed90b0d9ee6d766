"""TimescaleDB's own views, read on a PostgreSQL node that has the extension: hypertables, their
chunks with time ranges, and the background jobs with their failures."""

EXTENSION = """
SELECT e.extversion, current_setting('timescaledb.license', true)
  FROM pg_extension e WHERE e.extname = 'timescaledb'
"""
IS_HYPERTABLE = """
SELECT 1 FROM timescaledb_information.hypertables
 WHERE hypertable_schema = %s AND hypertable_name = %s
"""
CHUNKS = """
SELECT chunk_name, range_start, range_end, is_compressed
  FROM timescaledb_information.chunks
 WHERE hypertable_schema = %s AND hypertable_name = %s
"""
# Each job, how its runs went, and its last error (job_errors keeps a history of them).
JOBS = """
SELECT j.job_id, j.application_name, j.proc_name,
       j.hypertable_schema || '.' || j.hypertable_name, j.scheduled,
       s.last_run_status, s.total_runs, s.total_failures, s.last_run_started_at::text,
       (SELECT e.err_message FROM timescaledb_information.job_errors e
         WHERE e.job_id = j.job_id ORDER BY e.finish_time DESC NULLS LAST LIMIT 1)
  FROM timescaledb_information.jobs j
  LEFT JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id
 ORDER BY j.job_id
"""
