"""A Citus shard rebalance: planned with the real shard sizes, started as a background job on
the coordinator, followed task by task, stoppable at any moment (citus_rebalance_stop: the
move in flight is abandoned and Citus cleans it up; every finished move stays whole).

The plan of get_rebalance_table_shards_plan() reports every shard as 0 bytes, so each planned
move is priced with the shard's size from citus_shards; the skew expected afterwards is the
plan applied to today's bytes per worker.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from clustertop.actions.jobs import Job
from clustertop.actions.sql import postgres as sql
from clustertop.collectors.citus import build_citus_sample, latest_rebalance
from clustertop.collectors.connect import connect_postgres
from clustertop.collectors.errors import close_quietly
from clustertop.collectors.samples import CitusSample, RebalanceSample, skew
from clustertop.collectors.sql import postgres as collector_sql
from clustertop.core.config import ClusterConfig
from clustertop.core.errors import InputError, OperationFailed
from clustertop.core.nodes import NodeSpec
from clustertop.core.units import iec

STRATEGIES = ("by_disk_size", "by_shard_count")
TRANSFER_MODES = ("auto", "force_logical", "block_writes")
ENDED_STATES = ("finished", "cancelled", "failed")
FOLLOW_EVERY_S = 0.5


@dataclass(frozen=True)
class Move:
    """One shard placement the plan moves. Citus moves a shard group (the colocated shards of
    one hash range) as one task: `group` names it."""

    table: str
    shard_id: int
    source: str
    target: str
    bytes: int
    group: str = ""


@dataclass(frozen=True)
class RebalancePlan:
    strategy: str
    drain: str | None
    moves: tuple[Move, ...]  # one per shard, biggest first
    bytes_before: tuple[tuple[str, int], ...]  # per shard-holding worker
    bytes_after: tuple[tuple[str, int], ...]
    skew_before: float | None
    skew_after: float | None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    count_skew_before: float | None = None  # the same over shard counts
    count_skew_after: float | None = None

    @property
    def bytes_moved(self) -> int:
        return sum(m.bytes for m in self.moves)

    @property
    def tasks(self) -> int:
        """Citus' tasks: one per shard group moved (what its job counts)."""
        return len({(m.group or str(m.shard_id), m.source, m.target) for m in self.moves})

    def to_json(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "drain": self.drain,
            "tasks": self.tasks,
            "shards": len(self.moves),
            "moves": [m.__dict__ for m in self.moves],
            "bytes_moved": self.bytes_moved,
            "bytes_before": dict(self.bytes_before),
            "bytes_after": dict(self.bytes_after),
            "skew_before": self.skew_before,
            "skew_after": self.skew_after,
            "count_skew_before": self.count_skew_before,
            "count_skew_after": self.count_skew_after,
            "warnings": list(self.warnings),
        }


def read_citus_state(conn: psycopg.Connection[Any]) -> CitusSample:
    nodes = conn.execute(collector_sql.CITUS_NODES).fetchall()
    shards = conn.execute(collector_sql.CITUS_SHARDS).fetchall()
    return build_citus_sample(nodes, shards, [])


def _check_node(conn: psycopg.Connection[Any], drain: str) -> tuple[str, int]:
    host, _, port = drain.rpartition(":")
    if not host or not port.isdigit():
        raise InputError("--drain", drain, "must be HOST:PORT of a worker")
    state = read_citus_state(conn)
    if not any(w.node == f"{host}:{port}" for w in state.workers):
        known = ", ".join(w.node for w in state.workers)
        raise InputError("--drain", drain, f"is not a node of this cluster (nodes: {known})")
    return host, int(port)


def make_plan(
    conn: psycopg.Connection[Any], strategy: str, drain: str | None, warn_ratio: float
) -> RebalancePlan:
    """What a rebalance would move, priced with real sizes, and the skew it would leave.

    A drain is planned by Citus itself: in a transaction that is rolled back, the node is
    marked as holding no shards, and Citus' planner then says where each of its shards goes,
    as citus_rebalance_start(drain_only) will."""
    if strategy not in STRATEGIES:
        known = [r[0] for r in conn.execute(sql.REBALANCE_STRATEGIES).fetchall()]
        if strategy not in known:
            raise InputError("--strategy", strategy, f"must be one of {', '.join(known)}")
    state = read_citus_state(conn)
    if state.bytes_unknown_on:
        raise OperationFailed(
            f"shard sizes are unknown on {', '.join(state.bytes_unknown_on)} (not answering "
            "the coordinator): no plan can be priced until it does"
        )
    holders_now = [
        w.node for w in state.workers if w.active and w.should_have_shards and w.role == "primary"
    ]
    sizes = {
        (int(r[0]), f"{r[1]}:{r[2]}"): int(r[3]) for r in conn.execute(sql.SHARD_SIZES).fetchall()
    }
    groups = {
        int(r[0]): f"colocation {r[1]} from {r[2]}" for r in conn.execute(collector_sql.SHARD_GROUP_OF)
    }
    if drain is not None:
        host, _, port = drain.rpartition(":")
        with conn.transaction(force_rollback=True):
            conn.execute(sql.SET_SHOULD_HAVE_SHARDS, (host, int(port), False))
            rows = conn.execute(sql.REBALANCE_PLAN, (True, strategy)).fetchall()
        holders_after = [h for h in holders_now if h != drain]
    else:
        rows = conn.execute(sql.REBALANCE_PLAN, (False, strategy)).fetchall()
        holders_after = holders_now
    moves = tuple(
        sorted(
            (
                Move(
                    str(t), int(sid), f"{sh}:{sp}", f"{th}:{tp}",
                    sizes.get((int(sid), f"{sh}:{sp}"), 0), groups.get(int(sid), ""),
                )
                for t, sid, sh, sp, th, tp in rows
            ),
            key=lambda m: m.bytes,
            reverse=True,
        )
    )
    before = {w.node: w.bytes or 0 for w in state.workers if w.node in holders_now}
    counts_before = {w.node: w.shard_count for w in state.workers if w.node in holders_now}
    after, counts_after = dict(before), dict(counts_before)
    for move in moves:
        for table, delta in ((after, move.bytes), (counts_after, 1)):
            table[move.source] = table.get(move.source, 0) - delta
            table[move.target] = table.get(move.target, 0) + delta
    kept = {k: v for k, v in after.items() if k in holders_after}
    kept_counts = [v for k, v in counts_after.items() if k in holders_after]
    plan = RebalancePlan(
        strategy=strategy,
        drain=drain,
        moves=moves,
        bytes_before=tuple(sorted(before.items())),
        bytes_after=tuple(sorted(kept.items())),
        # Before: as the Shards screen shows it now, the node to drain included.
        skew_before=skew(list(before.values())) if before else None,
        skew_after=skew(list(kept.values())) if kept else None,
        count_skew_before=skew(list(counts_before.values())) if counts_before else None,
        count_skew_after=skew(kept_counts) if kept_counts else None,
    )
    return _with_warnings(conn, plan, holders_after, warn_ratio)


def _placements(conn: psycopg.Connection[Any]) -> Sequence[Any]:
    """Every distributed shard placement with its size (reference tables left out)."""
    from clustertop.collectors.samples import CitusShardSample

    rows = conn.execute(collector_sql.CITUS_SHARDS).fetchall()
    return [
        CitusShardSample(
            str(t), int(sid), str(name), f"{node}:{port}", int(size) if size is not None else None
        )
        for t, sid, name, kind, _colocation, node, port, size in rows
        if kind != "reference"
    ]


def _with_warnings(
    conn: psycopg.Connection[Any], plan: RebalancePlan, holders: list[str], warn_ratio: float
) -> RebalancePlan:
    warnings = []
    total = sum(v for _k, v in plan.bytes_before)
    fair = total / len(holders) if holders else 0.0
    hottest = conn.execute(sql.SHARD_GROUPS).fetchone()
    if hottest is not None and fair and int(hottest[1]) > fair:
        warnings.append(
            f"{hottest[0]} ({_mb(int(hottest[1]))} with its colocated shards) is larger than "
            f"a worker's fair share ({_mb(int(fair))}): no strategy can even out the bytes; "
            "give its biggest tenant a shard of its own (`clustertop isolate`, key i on "
            "Shards) or add workers"
        )
    if plan.skew_after is not None and plan.skew_after > warn_ratio:
        reason = (
            ": it evens out shard counts, not bytes" if plan.strategy == "by_shard_count" else ""
        )
        warnings.append(
            f"{plan.strategy} leaves a byte skew of {plan.skew_after:.0%} "
            f"(threshold {warn_ratio:.0%}){reason}"
        )
    if not plan.moves:
        warnings.append("nothing to move: the strategy finds the cluster balanced")
    return RebalancePlan(**{**plan.__dict__, "warnings": tuple(warnings)})


def _mb(value: int) -> str:
    return iec(value)


@dataclass(frozen=True)
class RebalanceSpec:
    cluster: ClusterConfig
    strategy: str = "by_disk_size"
    drain: str | None = None  # HOST:PORT of a worker to empty
    transfer_mode: str = "auto"

    def check(self) -> None:
        check_citus_change(self.cluster, self.transfer_mode)


def check_citus_change(cluster: ClusterConfig, transfer_mode: str) -> None:
    """What every shard-moving change needs: a Citus cluster and a transfer mode it knows."""
    if transfer_mode not in TRANSFER_MODES:
        raise InputError(
            "--transfer-mode", transfer_mode, f"must be one of {', '.join(TRANSFER_MODES)}"
        )
    if cluster.engine != "citus":
        raise InputError("--cluster", cluster.name, f"is {cluster.engine}, not a Citus cluster")


def coordinator(cluster: ClusterConfig) -> NodeSpec:
    hinted = [n for n in cluster.nodes if n.role_hint == "coordinator"]
    return (hinted or list(cluster.nodes))[0]


def connect(node: NodeSpec) -> psycopg.Connection[Any]:
    return connect_postgres(node, connect_timeout=5, statement_timeout=60)


def plan_for(spec: RebalanceSpec) -> RebalancePlan:
    return plans_for(spec, (spec.strategy,))[0]


def plans_for(spec: RebalanceSpec, strategies: Sequence[str] = STRATEGIES) -> list[RebalancePlan]:
    """The plan of each strategy on the same state, to compare what each moves and leaves."""
    spec.check()
    conn = connect(coordinator(spec.cluster))
    try:
        drain = None
        if spec.drain:
            host, port = _check_node(conn, spec.drain)
            drain = f"{host}:{port}"
        warn = spec.cluster.thresholds.skew_warn_ratio
        return [make_plan(conn, strategy, drain, warn) for strategy in strategies]
    finally:
        close_quietly(conn)


class RebalanceJob(Job):
    """citus_rebalance_start(), then citus_rebalance_status() every FOLLOW_EVERY_S: tasks with
    their phase, source, target and size; skew per worker as the moves land."""

    def __init__(self, spec: RebalanceSpec, plan: RebalancePlan | None = None) -> None:
        spec.check()
        what = f"drain {spec.drain}" if spec.drain else spec.strategy
        super().__init__(
            kind="rebalance", title=what, cluster=spec.cluster.name, unit="tasks"
        )
        self.spec = spec
        self.plan = plan
        self.job_id: int | None = None
        self.status: RebalanceSample | None = None
        self.result: dict[str, Any] | None = None

    def run(self) -> Sequence[tuple[str, str]]:
        spec = self.spec
        conn = connect(coordinator(spec.cluster))
        started = time.monotonic()
        try:
            before = read_citus_state(conn)
            if self.plan is None:
                self.plan = make_plan(
                    conn, spec.strategy, spec.drain, spec.cluster.thresholds.skew_warn_ratio
                )
            for warning in self.plan.warnings:
                self.log(f"warning: {warning}")
            self.log(
                f"plan: {self.plan.tasks} tasks ({len(self.plan.moves)} shards), "
                f"{_mb(self.plan.bytes_moved)}, skew "
                f"{_pct(self.plan.skew_before)} -> {_pct(self.plan.skew_after)} expected"
            )
            if spec.drain:
                host, port = _check_node(conn, spec.drain)
                conn.execute(sql.SET_SHOULD_HAVE_SHARDS, (host, port, False))
            row = conn.execute(
                sql.REBALANCE_START, (bool(spec.drain), spec.strategy, spec.transfer_mode)
            ).fetchone()
            self.job_id = int(row[0]) if row and row[0] is not None else None
            if self.job_id is None:
                self.log("Citus found nothing to move")
            else:
                self.server_job = f"citus job {self.job_id}"
                self.log(f"citus rebalance job {self.job_id} started")
                self._follow(conn)
            after = read_citus_state(conn)
        finally:
            close_quietly(conn)
        state = self.status.state if self.status else "finished"
        done = sum(
            n for k, n in (self.status.task_state_counts if self.status else ()) if k == "done"
        )
        self.result = {
            "job_id": self.job_id,
            "state": state,
            "strategy": spec.strategy,
            "drain": spec.drain,
            "skew_before": before.skew,
            "skew_after": after.skew,
            # Citus counts tasks: one per shard group moved, its colocated shards together.
            "tasks_planned": self.plan.tasks if self.plan else 0,
            "tasks_done": done,
            "shards_planned": len(self.plan.moves) if self.plan else 0,
            "bytes_moved": _bytes_moved(before, after),
            "duration_s": round(time.monotonic() - started, 2),
            "bytes_by_worker_before": {w.node: w.bytes for w in before.workers},
            "bytes_by_worker_after": {w.node: w.bytes for w in after.workers},
            "warnings": list(self.plan.warnings) if self.plan else [],
        }
        summary = (
            ("state", state),
            ("skew", f"{_pct(before.skew)} -> {_pct(after.skew)}"),
            (
                "tasks",
                f"{done}/{self.plan.tasks if self.plan else 0} done"
                f" ({len(self.plan.moves) if self.plan else 0} shards)",
            ),
            ("moved", _mb(self.result["bytes_moved"])),
        )
        self.summary = summary
        if state in ("cancelled", "cancelling"):
            self.check_cancelled()  # the job ends as cancelled, the summary kept
        if state == "failed":
            raise OperationFailed(
                f"citus rebalance job {self.job_id} failed: see citus_rebalance_status()"
            )
        return summary

    def _follow(self, conn: psycopg.Connection[Any]) -> None:
        stopped = False
        while True:
            if self.cancel_requested and not stopped:
                conn.execute(sql.REBALANCE_STOP)
                self.log("citus_rebalance_stop(): the move in flight is abandoned")
                stopped = True
            status = latest_rebalance(conn.execute(sql.REBALANCE_JOB, (self.job_id,)).fetchall())
            if status is not None:
                self._show(conn, status)
                if status.state in ENDED_STATES:
                    return
            time.sleep(FOLLOW_EVERY_S)

    def _show(self, conn: psycopg.Connection[Any], status: RebalanceSample) -> None:
        previous = self.status
        self.status = status
        counts = dict(status.task_state_counts)
        total = sum(counts.values())
        self.progress(float(counts.get("done", 0)), float(total) if total else None)
        running = []
        for task in status.tasks:
            line = f"task {task.phase or task.state}: {task.source} -> {task.target} ({task.size_source})"
            if previous is None or task not in previous.tasks:
                self.log(line)
            if task.state == "running":
                running.append(line)
        self.set_current("; ".join(running) or None)
        state = read_citus_state(conn)
        if state.skew is not None:
            self.record("skew", state.skew)
        if previous is None or previous.state != status.state:
            self.log(f"state {status.state}")


def _bytes_moved(before: CitusSample, after: CitusSample) -> int | None:
    """Bytes that arrived on workers: the sum of each worker's growth (None: a size unknown)."""
    if before.bytes_unknown_on or after.bytes_unknown_on:
        return None
    was = {w.node: w.bytes or 0 for w in before.workers}
    return sum(max(0, (w.bytes or 0) - was.get(w.node, 0)) for w in after.workers)


def _pct(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "-"
