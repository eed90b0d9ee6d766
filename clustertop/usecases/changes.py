"""Starting a change - a workload, a cleanup, a comparison, a rebalance - from what an operator
asked for: the rules it must pass (actions on for anything that writes, a table to work on) and
the job it becomes. The CLI and the TUI both call these, so a rule lives in one place.

Each function returns a job that has not started; the caller starts it (the CLI follows it on
the terminal, the TUI hands it to its job registry). Database work happens here (finding the
primary, reading the table), so the TUI calls these from a thread worker."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from clustertop.actions.cleanup.compare import METHOD_TABLES, CompareJob, CompareSpec
from clustertop.actions.cleanup.job import CleanupJob, CleanupSpec
from clustertop.actions.jobs import Job
from clustertop.actions.rebalance import RebalancePlan
from clustertop.actions.workload.driver import WorkloadSpec
from clustertop.actions.workload.external import workload_job
from clustertop.actions.workload.patterns import SHOP_ONLY, SHOP_PATTERNS, shop_script
from clustertop.collectors.roles import find_writable
from clustertop.core.config import ClusterConfig, Config
from clustertop.core.errors import MISSING, InputError
from clustertop.core.mixes import PATTERNS, resolve_pattern, writes
from clustertop.core.units import iec
from clustertop.core.workloads import Script, parse_skew

# The comparison the TUI's cleanup form offers: every method on this many fresh rows.
COMPARE_ROWS = 10_000


def actions_allowed(cluster: ClusterConfig, allow_actions: bool) -> bool:
    """Changes are off unless the cluster's config or the command line turns them on, and
    always off when clustertop runs read-only."""
    return not cluster.read_only and (allow_actions or cluster.actions)


def require_actions(cluster: ClusterConfig, allow_actions: bool, what: str) -> None:
    if cluster.read_only:
        raise InputError(
            "--read-only",
            True,
            f"{what} changes data, and clustertop runs read-only (--read-only or read_only ="
            " true in the config)",
        )
    if not actions_allowed(cluster, allow_actions):
        raise InputError(
            f"clusters.{cluster.name}.actions",
            False,
            f"{what} changes data: set actions = true for the cluster or pass --allow-actions",
        )


@dataclass(frozen=True)
class WorkloadRequest:
    cluster: str
    pattern: str
    table: str | None
    connections: int
    target_tps: float | None
    duration_s: float | None
    transactions: int | None
    engine: str = "builtin"
    mix: str | None = None  # --mix text, overriding the pattern's shares
    seed: int = 1
    processes: int = 0  # 0: the driver decides from the rate
    gate: bool = False  # held while the gate is NO-GO, ended by its abort rules
    dataset: str | None = None  # "shop": the pattern's transactions on the shop data set
    skew: str | None = None  # --skew: uniform or zipf:S


DATASETS = ("table", "shop")


def pattern_names(config: Config) -> tuple[str, ...]:
    """Every pattern a workload can be asked for: built-in, the config's mixes and custom."""
    return tuple(dict.fromkeys((*SHOP_PATTERNS, *PATTERNS, *config.mixes,
                                *config.custom_workloads)))


def pattern_catalogue(config: Config) -> list[dict[str, Any]]:
    """Every pattern as `workload patterns` shows it: a built-in's single-table mix (if it has
    one) and shop transactions, the config's mixes and custom workloads."""

    def transactions(script: Script) -> list[dict[str, Any]]:
        total = sum(t.weight for t in script.transactions) or 1
        return [
            {
                "name": t.name,
                "weight": t.weight,
                "share": round(100 * t.weight / total, 1),
                "statements": " + ".join(s.sql.split(None, 1)[0].upper() for s in t.statements),
            }
            for t in script.transactions
        ]

    entries: list[dict[str, Any]] = []
    for name in SHOP_PATTERNS:
        script = shop_script(name)
        entries.append({
            "name": name, "origin": "builtin", "description": script.description,
            "table_mix": dict(PATTERNS[name]) if name in PATTERNS else None,
            "transactions": transactions(script),
        })
    for name, mix in config.mixes.items():
        entries.append({"name": name, "origin": "mix", "table_mix": dict(mix)})
    for name, script in config.custom_workloads.items():
        entries.append({"name": name, "origin": "custom", "description": script.description,
                        "transactions": transactions(script)})
    return entries


def workload_script(config: Config, request: WorkloadRequest) -> Script | None:
    """The transaction workload the request names, or None for a single-table mix."""
    pattern = request.pattern
    custom = config.custom_workloads.get(pattern)
    if request.dataset is not None and request.dataset not in DATASETS:
        raise InputError("--dataset", request.dataset, f"one of {', '.join(DATASETS)}")
    shop = request.dataset == "shop" or (request.dataset is None and pattern in SHOP_ONLY)
    if custom is None and not shop:
        if pattern in SHOP_ONLY:
            raise InputError("--dataset", request.dataset,
                             f"{pattern} runs on the shop data set only (leave --dataset out)")
        return None
    if request.mix:
        raise InputError("--mix", request.mix, f"is for the single-table patterns, not {pattern}")
    if request.table:
        what = f"custom workload {pattern}" if custom else f"{pattern} on the shop data set"
        raise InputError("--table", request.table, f"{what} names its own tables; leave it out")
    if custom is not None:
        return custom
    if request.dataset == "table" or pattern not in SHOP_PATTERNS:
        why = "runs on the shop data set only" if pattern in SHOP_ONLY else "has no shop form"
        raise InputError("--pattern", pattern, f"{why} (shop patterns: {', '.join(SHOP_PATTERNS)})")
    return shop_script(pattern)


def workload_job_for(config: Config, request: WorkloadRequest, allow_actions: bool) -> Job:
    cluster = config.cluster(request.cluster)
    if request.connections < 1:
        raise InputError("--connections", request.connections, "must be at least 1")
    skew = parse_skew(request.skew) if request.skew else None
    script = workload_script(config, request)
    if script is not None:
        if request.engine != "builtin":
            raise InputError("--engine", request.engine,
                             f"{request.pattern} is a transaction workload: the builtin driver runs it")
        if script.writes:
            require_actions(cluster, allow_actions,
                            f"workload pattern {request.pattern} (it writes)")
        mix: dict[str, int] = script.weights()
        table = "custom" if request.pattern in config.custom_workloads else "shop"
    else:
        mix = resolve_pattern(request.pattern, request.mix, config.mixes,
                              extra=pattern_names(config))
        if writes(mix):
            require_actions(cluster, allow_actions,
                            f"workload pattern {request.pattern} (it writes)")
        found = request.table or (cluster.watched_tables[0] if cluster.watched_tables else None)
        if not found:
            raise InputError("--table", MISSING, "name a table: the cluster watches none")
        table = found
        if skew and request.engine != "builtin":
            raise InputError("--skew", request.skew, "the builtin driver draws skewed keys")
    spec = WorkloadSpec(
        node=find_writable(cluster.nodes),
        table=table,
        pattern=request.pattern,
        mix=mix,
        connections=request.connections,
        target_tps=request.target_tps,
        duration_s=request.duration_s,
        transactions=request.transactions,
        seed=request.seed,
        processes=request.processes,
        script=script,
        skew=skew,
    )
    job: Job = workload_job(spec, cluster.name, request.engine,
                            cluster if request.gate else None)
    return job


def cleanup_job_for(spec: CleanupSpec, allow_actions: bool) -> CleanupJob:
    """A checked cleanup of one table on the cluster's primary (a dry run needs no actions)."""
    spec.check()
    if not spec.dry_run:
        require_actions(spec.cluster, allow_actions, f"cleanup {spec.method}")
    job = CleanupJob(spec, find_writable(spec.cluster.nodes))
    job.preflight()
    return job


def compare_job_for(
    spec: CompareSpec, allow_actions: bool, start_child: Callable[[Job], Any] | None = None
) -> CompareJob:
    spec.base.check()
    require_actions(spec.base.cluster, allow_actions, "compare (it loads and cleans tables)")
    return CompareJob(spec, find_writable(spec.base.cluster.nodes), start_child)


def compare_all_methods(base: CleanupSpec, rows: int = COMPARE_ROWS) -> CompareSpec:
    """Every method on `rows` fresh rows, with the base's batch and throttle settings."""
    base = replace(base, method="batch_delete", table="cleanup_bench.cleanup_batch")
    return CompareSpec(base, tuple(METHOD_TABLES), rows)


def plan_lines(plan: RebalancePlan, most: int | None = None) -> list[str]:
    """The plan as an operator reads it. In full (the CLI): every move with its size and the
    bytes per worker now and expected; with `most` (a dialog): the totals, the `most` biggest
    moves with their sizes, and the warnings."""
    drain = f" draining {plan.drain}" if plan.drain else ""
    totals = (
        f"{plan.tasks} tasks ({len(plan.moves)} shards), {iec(plan.bytes_moved)}; bytes skew "
        f"{_pct(plan.skew_before)} -> {_pct(plan.skew_after)} expected"
    )
    if most is not None:
        lines = [
            totals,
            *(
                f"{iec(m.bytes):>9} {m.table} {m.shard_id}: {m.source} -> {m.target}"
                for m in plan.moves[:most]
            ),
        ]
        if len(plan.moves) > most:
            lines.append(f"... and {len(plan.moves) - most} smaller")
        return lines + [f"warning: {w}" for w in plan.warnings]
    lines = [f"{plan.strategy}{drain}: {totals}"]
    lines += [
        f"  {m.table} shard {m.shard_id}: {m.source} -> {m.target} ({iec(m.bytes)})"
        for m in plan.moves
    ]
    before = ", ".join(f"{k} {iec(v)}" for k, v in plan.bytes_before)
    after = ", ".join(f"{k} {iec(v)}" for k, v in plan.bytes_after)
    lines.append(f"bytes per worker now: {before}")
    lines.append(f"expected after:       {after}")
    lines.append(
        f"skew {_pct(plan.skew_before)} -> {_pct(plan.skew_after)} expected (bytes), "
        f"{_pct(plan.count_skew_before)} -> {_pct(plan.count_skew_after)} (shard counts)"
    )
    return lines + [f"warning: {w}" for w in plan.warnings]


def comparison_lines(plans: Sequence[RebalancePlan]) -> list[str]:
    """The strategies side by side: what each moves, and the skew each leaves in bytes and
    in shard counts (by_disk_size may move far more for about the same change)."""
    lines = [
        f"{'strategy':<15} {'tasks':>5} {'shards':>6} {'moved':>10} {'bytes skew':>16} "
        f"{'count skew':>16}"
    ]
    for p in plans:
        lines.append(
            f"{p.strategy:<15} {p.tasks:>5} {len(p.moves):>6} {iec(p.bytes_moved):>10} "
            f"{_pct(p.skew_before) + ' -> ' + _pct(p.skew_after):>16} "
            f"{_pct(p.count_skew_before) + ' -> ' + _pct(p.count_skew_after):>16}"
        )
    return lines


def _pct(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "-"
