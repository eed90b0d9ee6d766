"""The cleanup subcommands: cleanup, compare, partitions, optimize. Each checks its input to
one line before anything starts, asks before it changes data (or takes --yes), and follows
its job on stderr while it runs."""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from typing import Any

from clustertop.cli.common import require_actions, resolve_config, save_result, say
from clustertop.cli.terminal import confirm, controlled, follow
from clustertop.cli.types import days, non_negative_float, positive_float, positive_int, whole_days
from clustertop.core.errors import MISSING, InputError, OperationFailed
from clustertop.usecases import changes

FORMAT_CHOICES = ("table", "md", "csv", "json")


def add_parsers(add: Any) -> None:
    """The subcommands' options; `add(name, help)` makes a subparser with the common options."""

    def throttling(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--retention-days",
            type=days,
            default=10.0,
            help="remove rows older than now - D days (default 10)",
        )
        p.add_argument("--batch-size", type=positive_int, default=5000, help="rows a chunk (5000)")
        p.add_argument(
            "--batch-delay",
            type=non_negative_float,
            default=0.1,
            help="seconds between chunks (0.1)",
        )
        p.add_argument(
            "--max-lag", type=positive_float, help="pause while a replica lags more (seconds)"
        )
        p.add_argument(
            "--target-lag",
            type=positive_float,
            metavar="S",
            help="batch_delete, copy: size chunks and the pauses between them to keep the"
            " replicas' lag near S seconds (its p95 at or under S); --max-lag stays the hard stop",
        )
        p.add_argument(
            "--chunk-time",
            type=positive_float,
            metavar="S",
            help="batch_delete, copy: size each chunk to take S seconds on the primary"
            " (pt-online-schema-change's --chunk-time)",
        )
        p.add_argument(
            "--gate",
            action="store_true",
            help="pause while the cluster's Go/No-Go gate is NO-GO and abort on its abort rules"
            " (`clustertop gate` shows them)",
        )
        p.add_argument("--max-load", help="pause while the primary is busier: Threads_running=N")
        p.add_argument("--critical-load", help="abort at this load: Threads_running=N")
        p.add_argument("--ts-column", help="the time column (default: the first date/time one)")
        p.add_argument(
            "--lock-wait",
            type=positive_float,
            default=5.0,
            help="longest wait for a table lock, seconds (default 5)",
        )
        p.add_argument(
            "--allow-blocking-detach",
            action="store_true",
            help="PostgreSQL partition_drop where DETACH ... CONCURRENTLY cannot be used (a "
            "DEFAULT partition, before 14): a plain DETACH, which every query waits behind",
        )
        p.add_argument(
            "--sentinel",
            metavar="PATH",
            help="stop cleanly at the next chunk boundary once this file exists (pt-archiver's"
            " --sentinel)",
        )
        p.add_argument("--yes", action="store_true", help="answer the confirmation (no prompt)")

    cleanup = add(
        "cleanup",
        "remove rows older than a retention: partition_drop, truncate, copy or batch_delete",
    )
    cleanup.add_argument("--table", help="SCHEMA.TABLE (default: the cluster's first watched)")
    cleanup.add_argument(
        "--method",
        required=True,
        choices=["partition_drop", "truncate", "copy", "batch_delete"],
        help="how to remove them",
    )
    throttling(cleanup)
    cleanup.add_argument(
        "--drop-old",
        action="store_true",
        help="copy: drop the old table after the swap (default: keep it)",
    )
    cleanup.add_argument(
        "--dry-run",
        action="store_true",
        help="print the exact SQL and the rows it would touch; change nothing",
    )
    cleanup.add_argument("--json", action="store_true", help="print the run's record as JSON")

    compare = add(
        "compare", "run cleanup methods one after another on identical data and print one table"
    )
    compare.add_argument(
        "--methods",
        default="partition_drop,truncate,copy,batch_delete",
        help="comma-separated (default: all four; drop_chunks: partition_drop on a TimescaleDB"
        " hypertable of the same rows)",
    )
    compare.add_argument(
        "--rows",
        type=positive_int,
        default=10_000,
        help="rows loaded into each method's table (default 10000)",
    )
    compare.add_argument("--seed", type=int, default=1, help="data seed (default 1)")
    compare.add_argument(
        "--with-workload",
        metavar="PATTERN",
        help="run this workload pattern on the table during each method",
    )
    compare.add_argument("--tps", type=positive_float, help="the workload's target TPS")
    compare.add_argument("--format", choices=FORMAT_CHOICES, default="table")
    throttling(compare)

    partitions = add(
        "partitions",
        "partition maintenance: create future daily partitions, drop those past a retention",
    )
    partitions.add_argument(
        "--table", help="SCHEMA.TABLE (default: cleanup_bench.cleanup_partitioned)"
    )
    partitions.add_argument(
        "--future-days",
        type=whole_days,
        default=3,
        help="days ahead to have a partition for (default 3)",
    )
    partitions.add_argument(
        "--retention-days",
        type=days,
        default=30.0,
        help="drop partitions wholly older than this (default 30)",
    )
    partitions.add_argument("--ts-column", help="the time column (default: the first one)")
    partitions.add_argument("--dry-run", action="store_true", help="print the SQL; change nothing")
    partitions.add_argument("--yes", action="store_true", help="answer the confirmation")

    optimize = add(
        "optimize", "reclaim space after a cleanup: OPTIMIZE TABLE / VACUUM, VACUUM FULL, ANALYZE"
    )
    optimize.add_argument("--table", help="SCHEMA.TABLE (default: the cluster's first watched)")
    optimize.add_argument(
        "--mode",
        choices=["optimize", "full", "analyze"],
        default="optimize",
        help="optimize: OPTIMIZE TABLE / VACUUM; full: VACUUM FULL; "
        "analyze: statistics only (default optimize)",
    )
    optimize.add_argument("--dry-run", action="store_true", help="print the SQL; change nothing")
    optimize.add_argument("--yes", action="store_true", help="answer the confirmation")


def _cleanup_spec(args: argparse.Namespace, cluster: Any, table: str, method: str) -> Any:
    from clustertop.actions.cleanup.job import CleanupSpec
    from clustertop.actions.cleanup.throttle import parse_load_limit

    return CleanupSpec(
        cluster=cluster,
        table=table,
        method=method,
        retention_days=args.retention_days,
        batch_size=args.batch_size,
        batch_delay_s=args.batch_delay,
        max_lag_s=args.max_lag,
        target_lag_s=args.target_lag,
        chunk_time_s=args.chunk_time,
        gate=args.gate,
        max_load=parse_load_limit(args.max_load, "--max-load") if args.max_load else None,
        critical_load=(
            parse_load_limit(args.critical_load, "--critical-load") if args.critical_load else None
        ),
        dry_run=getattr(args, "dry_run", False),
        drop_old=getattr(args, "drop_old", False),
        ts_column=args.ts_column,
        lock_wait_s=args.lock_wait,
        allow_blocking_detach=args.allow_blocking_detach,
        sentinel=args.sentinel,
    )


def _table_arg(args: argparse.Namespace, cluster: Any, default: str | None = None) -> str:
    from clustertop.core.config import validate_table_name

    if args.table is not None and not args.table.strip():
        # An unset shell variable must never fall back to some other table.
        raise InputError("--table", args.table, "is empty: name the table")
    table = args.table or default or (cluster.watched_tables[0] if cluster.watched_tables else None)
    if not table:
        raise InputError("--table", MISSING, "name a table: the cluster watches none")
    return validate_table_name("--table", table)


# -- commands ---------------------------------------------------------------------------------


def cmd_cleanup(args: argparse.Namespace) -> int:
    config = resolve_config(args)
    cluster = config.cluster(args.cluster)
    table = _table_arg(args, cluster)
    spec = _cleanup_spec(args, cluster, table, args.method)
    job = changes.cleanup_job_for(spec, bool(args.allow_actions))
    job.id = 1  # this process's one job, as `clustertop job list` names it (PID:1)
    if not spec.dry_run:
        scope = (
            "ALL rows of"
            if args.method == "truncate"
            else (f"rows older than {args.retention_days:g} days from")
        )
        confirm(args, f"{args.method} removes {scope} {table} on {cluster.name}.", table)
    with controlled(lambda: [job], "cleanup"):
        snap = follow(job, say)
    return _finish(job, snap, args.json, "cleanup")


def _finish(job: Any, snap: Any, as_json: bool, kind: str) -> int:
    if snap.error:
        raise (
            InputError("--table", job.spec.table, snap.error)
            if "--" in snap.error
            else OperationFailed(snap.error)
        )
    if snap.state == "cancelled" or job.result is None:
        say("cancelled: every finished chunk stays done; nothing is half-swapped")
        return 1
    record = job.result
    path = save_result(kind, record)
    if record.get("chunk_rows"):
        _write_chunks_csv(path, record["chunk_rows"])
    if as_json:
        shown = {k: v for k, v in record.items() if k != "chunk_rows"}
        print(json.dumps(shown, indent=2, default=str))
    elif record.get("dry_run"):
        for statement in record.get("statements", []):
            print(statement)
        print(
            f"would remove {record.get('rows_would_delete')} of {record['rows_before']} rows "
            f"(cutoff {record['cutoff']}); nothing was changed"
        )
    else:
        print(
            f"{record['method']}: {record['rows_deleted']} rows removed in {record['duration_s']} s "
            f"({record['rows_per_s']:,.0f} rows/s), {record['rows_before']} -> "
            f"{record['rows_after']} rows, max lag {record['max_lag_s']} s, "
            f"{record['pauses']} pauses; saved {path}"
        )
    return 0


def _write_chunks_csv(json_path: str, chunks: list[dict[str, Any]]) -> None:
    import csv

    keys = ["chunk", "rows", "seconds", "lag_s", "partition"]
    with open(json_path.removesuffix(".json") + "-chunks.csv", "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=keys, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(chunks)


def cmd_compare(args: argparse.Namespace) -> int:
    from clustertop.actions.cleanup.compare import CompareSpec, parse_methods, render_rows
    from clustertop.core.mixes import resolve_pattern

    config = resolve_config(args)
    cluster = config.cluster(args.cluster)
    methods = parse_methods(args.methods)
    if args.with_workload:
        resolve_pattern(args.with_workload, custom=config.mixes)
    elif args.tps:
        raise InputError("--tps", args.tps, "needs --with-workload PATTERN")
    # The base is a template each method's run is made from (pacing only where it chunks).
    base = _cleanup_spec(args, cluster, "cleanup_bench.cleanup_batch", "batch_delete")
    spec = CompareSpec(base, methods, args.rows, args.seed, args.with_workload, args.tps)
    child_ids = itertools.count(2)  # the compare is job 1, each method's run the next

    def start_child(child: Any) -> None:
        child.id = next(child_ids)
        child.start()

    job = changes.compare_job_for(spec, bool(args.allow_actions), start_child)
    job.id = 1
    confirm(
        args,
        f"compare reloads and cleans the cleanup_bench tables of {cluster.name}.",
        "cleanup_bench",
    )
    # The method running now takes `clustertop job` commands, as a cleanup of its own would.
    with controlled(lambda: [j for j in (job.running_child,) if j is not None], "compare"):
        snap = follow(job, say)
    if snap.error:
        raise OperationFailed(snap.error)
    save_result("compare", {"rows": args.rows, "methods": job.rows})
    print(render_rows(job.rows, args.format))
    return 0 if snap.state == "finished" else 1


def cmd_partitions(args: argparse.Namespace) -> int:
    from clustertop.actions.cleanup.maintenance import PartitionMaintenance
    from clustertop.collectors.roles import find_writable

    config = resolve_config(args)
    cluster = config.cluster(args.cluster)
    table = _table_arg(args, cluster, "cleanup_bench.cleanup_partitioned")
    if not args.dry_run:
        require_actions(args, config, cluster.name, "partition maintenance")
    job = PartitionMaintenance(
        cluster.name,
        find_writable(cluster.nodes),
        table,
        args.future_days,
        args.retention_days,
        args.ts_column,
        dry_run=True,
    )
    plan = job.plan()
    for statement in plan:
        print(statement)
    if args.dry_run or not plan:
        print("nothing to do" if not plan else "dry run: nothing was changed", file=sys.stderr)
        return 0
    confirm(args, f"partition maintenance runs the statements above on {table}.", table)
    job.dry_run = False
    snap = follow(job, say)
    if snap.error:
        raise OperationFailed(snap.error)
    return 0 if snap.state == "finished" else 1


def cmd_optimize(args: argparse.Namespace) -> int:
    from clustertop.actions.cleanup.maintenance import Optimize
    from clustertop.collectors.roles import find_writable

    config = resolve_config(args)
    cluster = config.cluster(args.cluster)
    table = _table_arg(args, cluster)
    job = Optimize(cluster.name, find_writable(cluster.nodes), table, args.mode)
    statement = job.statement()
    print(statement)
    if args.dry_run:
        return 0
    if args.mode != "analyze" or cluster.read_only:  # ANALYZE rewrites the statistics
        require_actions(args, config, cluster.name, f"optimize --mode {args.mode}")
        confirm(args, f"{statement} rebuilds {table} (it may lock it while it runs).", table)
    snap = follow(job, say)
    if snap.error:
        raise OperationFailed(snap.error)
    print(job.outcome)
    return 0 if snap.state == "finished" else 1
