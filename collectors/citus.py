"""Citus shards, skew and rebalance jobs, read on the coordinator.

Skew is (max - min) / mean of bytes (and of shard counts) over the active workers that may
hold shards; a worker with no shards counts as 0, which is what makes a new worker show up
as skew before a rebalance.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import psycopg

from clustertop.collectors.samples import (
    CitusSample,
    CitusShardSample,
    CitusTableSample,
    CitusWorkerSample,
    RebalanceSample,
    RebalanceTaskSample,
    skew,
)
from clustertop.collectors.sql import postgres as sql

HOT_SHARDS = 5
Execute = Callable[[psycopg.Connection[Any], str], Any]


def read_citus(conn: psycopg.Connection[Any], execute: Execute) -> CitusSample:
    nodes = execute(conn, sql.CITUS_NODES).fetchall()
    shards = execute(conn, sql.CITUS_SHARDS).fetchall()
    try:
        jobs = execute(conn, sql.CITUS_REBALANCE).fetchall()
    except psycopg.Error:
        jobs = []
    return build_citus_sample(nodes, shards, jobs)


def build_citus_sample(nodes: list[Any], shards: list[Any], jobs: list[Any]) -> CitusSample:
    """Pure: rows of pg_dist_node, citus_shards and citus_rebalance_status() to a sample."""
    shard_holders = []
    workers: dict[str, dict[str, Any]] = {}
    for name, port, active, role, should_have, groupid in nodes:
        key = f"{name}:{port}"
        workers[key] = {
            "active": bool(active),
            "role": str(role),
            "should": bool(should_have),
            "group": groupid,
            "count": 0,
            "bytes": 0,
        }
        if active and should_have and role == "primary":
            shard_holders.append(key)
    per_table: dict[str, dict[str, Any]] = {}
    all_shards = []
    for table, shard_id, shard_name, table_type, colocation, node, port, size in shards:
        key = f"{node}:{port}"
        entry = workers.setdefault(
            key,
            {
                "active": False,
                "role": "unknown",
                "should": False,
                "group": None,
                "count": 0,
                "bytes": 0,
            },
        )
        info = per_table.setdefault(
            str(table),
            {
                "type": str(table_type),
                "colocation": int(colocation or 0),
                "bytes": defaultdict(int),
                "count": defaultdict(int),
                "shards": set(),
            },
        )
        info["shards"].add(shard_id)
        if table_type == "reference":
            continue  # a copy on every node is not skew
        entry["count"] += 1
        entry["bytes"] += int(size)
        info["bytes"][key] += int(size)
        info["count"][key] += 1
        all_shards.append(
            CitusShardSample(str(table), int(shard_id), str(shard_name), key, int(size))
        )
    tables = []
    for table, info in sorted(per_table.items()):
        holders = shard_holders or sorted(info["bytes"])
        tables.append(
            CitusTableSample(
                table=table,
                table_type=info["type"],
                colocation_id=info["colocation"],
                shard_count=len(info["shards"]),
                bytes_by_worker=tuple((w, info["bytes"].get(w, 0)) for w in holders),
                shards_by_worker=tuple((w, info["count"].get(w, 0)) for w in holders),
                skew=None
                if info["type"] == "reference"
                else skew([info["bytes"].get(w, 0) for w in holders]),
            )
        )
    worker_samples = tuple(
        CitusWorkerSample(key, w["active"], w["role"], w["should"], w["count"], w["bytes"])
        for key, w in workers.items()
    )
    inactive = {key for key, w in workers.items() if not w["active"]}
    unavailable = sorted({s.table for s in all_shards if s.node in inactive})
    hot = tuple(sorted(all_shards, key=lambda s: s.bytes, reverse=True)[:HOT_SHARDS])
    return CitusSample(
        workers=worker_samples,
        tables=tuple(tables),
        skew=skew([workers[w]["bytes"] for w in shard_holders]) if shard_holders else None,
        count_skew=skew([workers[w]["count"] for w in shard_holders]) if shard_holders else None,
        hot_shards=hot,
        rebalance=latest_rebalance(jobs),
        unavailable_tables=tuple(unavailable),
    )


def latest_rebalance(jobs: list[Any]) -> RebalanceSample | None:
    if not jobs:
        return None
    job = max(jobs, key=lambda j: j[0])
    job_id, state, job_type, description, started, finished, details = job
    if isinstance(details, str):
        details = json.loads(details)
    details = details or {}
    tasks = tuple(
        RebalanceTaskSample(
            phase=t.get("phase"),
            state=t.get("state"),
            source=(t.get("hosts") or {}).get("source"),
            target=(t.get("hosts") or {}).get("target"),
            size_source=(t.get("size") or {}).get("source"),
            size_target=(t.get("size") or {}).get("target"),
            command=t.get("command"),
        )
        for t in details.get("tasks", [])
    )
    counts = tuple(
        sorted((str(k), int(v)) for k, v in (details.get("task_state_counts") or {}).items())
    )
    return RebalanceSample(
        job_id=int(job_id),
        state=str(state),
        job_type=str(job_type),
        description=description,
        started_at=str(started) if started else None,
        finished_at=str(finished) if finished else None,
        tasks=tasks,
        task_state_counts=counts,
    )
