"""Citus shards, skew and rebalance jobs, read on the coordinator.

Skew is (max - min) / mean of bytes (and of shard counts) over the active workers that may
hold shards; a worker with no shards counts as 0, which is what makes a new worker show up
as skew before a rebalance.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from clustertop.collectors.samples import (
    CitusSample,
    CitusShardSample,
    CitusTableSample,
    CitusWorkerSample,
    RebalanceSample,
    RebalanceTaskSample,
    TenantSample,
    skew,
)
from clustertop.collectors.sql import postgres as sql

HOT_SHARDS = 5
TOP_TENANTS = 10
TENANTS_OFF = (
    "tenant statistics are off: set citus.stat_tenants_track = 'all' on the coordinator and "
    "every worker (ALTER SYSTEM, then SELECT pg_reload_conf())"
)
Execute = Callable[[psycopg.Connection[Any], str], Any]


def read_citus(conn: psycopg.Connection[Any], execute: Execute) -> CitusSample:
    nodes = execute(conn, sql.CITUS_NODES).fetchall()
    shards = execute(conn, sql.CITUS_SHARDS).fetchall()
    jobs = _optional(conn, execute, sql.CITUS_REBALANCE) or []
    tenants, note, period = read_tenants(conn, execute)
    groups = execute(conn, sql.SHARD_GROUP_OF).fetchall() if tenants else []
    return build_citus_sample(
        nodes, shards, jobs, tenants=tenants, shard_groups=groups, tenants_note=note,
        tenant_period_s=period,
    )


def _optional(conn: psycopg.Connection[Any], execute: Execute, statement: str) -> Any:
    """Rows of a reading the sample can do without: in a savepoint of its own, so that its
    failure (a worker not answering the fan-out) spoils nothing else of the pass."""
    try:
        with conn.transaction():
            return execute(conn, statement).fetchall()
    except psycopg.Error:
        return None


def read_tenants(
    conn: psycopg.Connection[Any], execute: Execute
) -> tuple[list[Any], str | None, int | None]:
    """The busiest tenants (rows of CITUS_TENANTS), or why there are none to show."""
    setting = execute(conn, sql.CITUS_TENANT_SETTINGS).fetchone()
    track, period = (setting[0], setting[1]) if setting else (None, None)
    period_s = int(period) if period and str(period).isdigit() else None
    if track is None:
        return [], "tenant statistics need Citus 11.3 or later (citus_stat_tenants)", None
    if track != "all":
        return [], TENANTS_OFF, period_s
    try:
        with conn.transaction():
            rows = execute(conn, sql.CITUS_TENANTS % TOP_TENANTS).fetchall()
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [], f"tenant statistics not readable: {first}", period_s
    return rows, None, period_s


def build_citus_sample(
    nodes: list[Any],
    shards: list[Any],
    jobs: list[Any],
    *,
    tenants: Sequence[Any] = (),
    shard_groups: Sequence[Any] = (),
    tenants_note: str | None = None,
    tenant_period_s: int | None = None,
) -> CitusSample:
    """Pure: rows of pg_dist_node, citus_shards and citus_rebalance_status() to a sample.

    citus_shards gives NULL sizes for shards on a worker it cannot reach: those bytes stay
    unknown (None), the worker's total too, and the skew is None, with the skew of the workers
    that answered given apart."""
    shard_holders = []
    workers: dict[str, dict[str, Any]] = {}
    for name, port, active, role, should_have, groupid in nodes:
        key = f"{name}:{port}"
        workers[key] = _worker(bool(active), str(role), bool(should_have), groupid)
        if active and should_have and role == "primary":
            shard_holders.append(key)
    per_table: dict[str, dict[str, Any]] = {}
    all_shards = []
    unknown_on: set[str] = set()
    for table, shard_id, shard_name, table_type, colocation, node, port, size in shards:
        key = f"{node}:{port}"
        entry = workers.setdefault(key, _worker(False, "unknown", False, None))
        info = per_table.setdefault(
            str(table),
            {
                "type": str(table_type),
                "colocation": int(colocation or 0),
                "bytes": defaultdict(int),
                "unknown": set(),
                "count": defaultdict(int),
                "shards": set(),
            },
        )
        info["shards"].add(shard_id)
        if table_type == "reference":
            continue  # a copy on every node is not skew
        entry["count"] += 1
        info["count"][key] += 1
        if size is None:
            unknown_on.add(key)
            info["unknown"].add(key)
        else:
            entry["bytes"] += int(size)
            info["bytes"][key] += int(size)
        all_shards.append(
            CitusShardSample(
                str(table), int(shard_id), str(shard_name), key,
                int(size) if size is not None else None,
            )
        )
    tables = []
    for table, info in sorted(per_table.items()):
        holders = shard_holders or sorted(info["bytes"])
        by_worker = tuple(
            (w, None if w in info["unknown"] else info["bytes"].get(w, 0)) for w in holders
        )
        known = [b for _, b in by_worker if b is not None]
        tables.append(
            CitusTableSample(
                table=table,
                table_type=info["type"],
                colocation_id=info["colocation"],
                shard_count=len(info["shards"]),
                bytes_by_worker=by_worker,
                shards_by_worker=tuple((w, info["count"].get(w, 0)) for w in holders),
                skew=None
                if info["type"] == "reference" or len(known) < len(by_worker)
                else skew(known),
            )
        )
    worker_samples = tuple(
        CitusWorkerSample(
            key, w["active"], w["role"], w["should"], w["count"],
            None if key in unknown_on else w["bytes"],
        )
        for key, w in workers.items()
    )
    inactive = {key for key, w in workers.items() if not w["active"]}
    unavailable = sorted({s.table for s in all_shards if s.node in inactive | unknown_on})
    hot = tuple(
        sorted(all_shards, key=lambda s: (s.bytes is not None, s.bytes or 0), reverse=True)[
            :HOT_SHARDS
        ]
    )
    known_holders = [w for w in shard_holders if w not in unknown_on]
    skew_of_known = skew([workers[w]["bytes"] for w in known_holders]) if known_holders else None
    return CitusSample(
        workers=worker_samples,
        tables=tuple(tables),
        skew=skew_of_known if len(known_holders) == len(shard_holders) else None,
        count_skew=skew([workers[w]["count"] for w in shard_holders]) if shard_holders else None,
        hot_shards=hot,
        rebalance=latest_rebalance(jobs),
        unavailable_tables=tuple(unavailable),
        bytes_unknown_on=tuple(sorted(unknown_on)),
        skew_of_known=skew_of_known,
        tenants=tenant_samples(tenants, shard_groups, all_shards),
        tenants_note=tenants_note,
        tenant_period_s=tenant_period_s,
    )


def tenant_samples(
    rows: Sequence[Any], shard_groups: Sequence[Any], shards: list[CitusShardSample]
) -> tuple[TenantSample, ...]:
    """Pure: CITUS_TENANTS rows, with each tenant's shard group priced from the shard sizes
    (the group: every shard of the colocation group with the same hash range)."""
    group_of = {int(sid): (int(colocation), str(low)) for sid, colocation, low in shard_groups}
    group_bytes: dict[tuple[int, str], int | None] = {}
    node_of: dict[int, str] = {}
    for placement in shards:
        node_of[placement.shard_id] = placement.node
        key = group_of.get(placement.shard_id)
        if key is None:
            continue
        known = group_bytes.get(key, 0)
        group_bytes[key] = (
            None if known is None or placement.bytes is None else known + placement.bytes
        )
    result = []
    for colocation, tenant, q_now, q_last, cpu_now, cpu_last, table, shard_id in rows:
        shard = int(shard_id) if shard_id is not None else None
        key = group_of.get(shard) if shard is not None else None
        result.append(
            TenantSample(
                colocation_id=int(colocation),
                tenant=str(tenant),
                table=str(table),
                queries_now=int(q_now or 0),
                queries_last=int(q_last or 0),
                cpu_now_s=float(cpu_now or 0.0),
                cpu_last_s=float(cpu_last or 0.0),
                shard_id=shard,
                node=node_of.get(shard) if shard is not None else None,
                group_bytes=group_bytes.get(key) if key is not None else None,
            )
        )
    return tuple(sorted(result, key=lambda t: (t.queries, t.cpu_s), reverse=True))


def _worker(active: bool, role: str, should: bool, group: Any) -> dict[str, Any]:
    return {"active": active, "role": role, "should": should, "group": group, "count": 0,
            "bytes": 0}


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
