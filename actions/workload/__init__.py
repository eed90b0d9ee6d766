"""Workloads: load to watch a change under, from the builtin driver, pgbench or sysbench."""
