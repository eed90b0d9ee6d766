"""`clustertop rebalance`: plan a Citus rebalance with real shard sizes, then (confirmed) run
it and follow its tasks to the end. `clustertop isolate`: give a hot tenant a shard of its own
and move it to the emptiest worker, planned and confirmed the same way."""

from __future__ import annotations

import argparse
import json
from typing import Any

from clustertop.cli.common import require_actions, resolve_config, save_result, say
from clustertop.cli.terminal import confirm, follow
from clustertop.core.errors import OperationFailed
from clustertop.usecases import changes


def add_parser(add: Any) -> None:
    from clustertop.actions.rebalance import STRATEGIES, TRANSFER_MODES

    p = add("rebalance", "plan and run a Citus shard rebalance, following its tasks")
    p.add_argument(
        "--strategy",
        default="by_disk_size",
        help=f"{' or '.join(STRATEGIES)} (or a strategy of pg_dist_rebalance_strategy)",
    )
    p.add_argument("--drain", metavar="HOST:PORT", help="move every shard off this worker")
    p.add_argument(
        "--transfer-mode",
        default="auto",
        choices=TRANSFER_MODES,
        help="shard transfer mode (default auto)",
    )
    p.add_argument(
        "--plan", action="store_true", help="print the plan and the skew it leaves; change nothing"
    )
    p.add_argument(
        "--wait",
        action="store_true",
        help="follow the rebalance to its end (the default when not --plan)",
    )
    p.add_argument("--json", action="store_true", help="print the plan or the result as JSON")
    p.add_argument("--yes", action="store_true", help="answer the confirmation")


def add_isolate_parser(add: Any) -> None:
    from clustertop.actions.rebalance import TRANSFER_MODES

    p = add("isolate", "isolate a hot Citus tenant in a shard of its own and move it")
    p.add_argument("--table", help="a hash-distributed table (default: the hottest shard's)")
    p.add_argument(
        "--tenant", help="a value of its distribution column (default: the hottest shard's biggest)"
    )
    p.add_argument("--to", metavar="HOST:PORT", help="the worker to move it to (default: emptiest)")
    p.add_argument(
        "--transfer-mode", default="auto", choices=TRANSFER_MODES,
        help="shard transfer mode (default auto)",
    )
    p.add_argument(
        "--plan", "--dry-run", dest="plan", action="store_true",
        help="print the plan, the skew it leaves and the exact SQL; change nothing",
    )
    p.add_argument("--json", action="store_true", help="print the plan or the result as JSON")
    p.add_argument("--yes", action="store_true", help="answer the confirmation")


def cmd_isolate(args: argparse.Namespace) -> int:
    from clustertop.actions.isolate import IsolateJob, IsolateSpec, isolation_plan_for

    config = resolve_config(args)
    cluster = config.cluster(args.cluster)
    spec = IsolateSpec(cluster, args.table, args.tenant, args.to, args.transfer_mode)
    plan = isolation_plan_for(spec)
    if args.plan:
        print(json.dumps(plan.to_json(), indent=2) if args.json else "\n".join(plan.lines()))
        return 0
    require_actions(args, config, cluster.name, "isolate (it splits and moves shards)")
    if not args.json:
        print("\n".join(plan.lines()))
    confirm(
        args, f"the isolation above splits and moves shards of {cluster.name}.", cluster.name
    )
    return _follow_and_report(IsolateJob(spec, plan), "isolate", args.json)


def _follow_and_report(job: Any, kind: str, as_json: bool) -> int:
    """Follow a Citus job to its end on the terminal, save its record, print its result."""
    snap = follow(job, say)
    if snap.error:
        raise OperationFailed(snap.error)
    record = job.result or {}
    if record:
        save_result(kind, record)
    if as_json:
        print(json.dumps(record, indent=2, default=str))
    else:
        print(", ".join(f"{label} {value}" for label, value in snap.summary))
    return 0 if snap.state == "finished" else 1


def _plan_text(plan: Any) -> str:
    return "\n".join(changes.plan_lines(plan))


def cmd_rebalance(args: argparse.Namespace) -> int:
    from clustertop.actions.rebalance import STRATEGIES, RebalanceJob, RebalanceSpec, plans_for

    config = resolve_config(args)
    cluster = config.cluster(args.cluster)
    spec = RebalanceSpec(cluster, args.strategy, args.drain, args.transfer_mode)
    # The chosen strategy's plan, and the others' beside it to compare.
    strategies = [args.strategy, *(s for s in STRATEGIES if s != args.strategy)]
    plans = plans_for(spec, strategies)
    plan = plans[0]
    if args.plan:
        if args.json:
            print(json.dumps({**plan.to_json(), "compared": [p.to_json() for p in plans]},
                             indent=2))
        else:
            print("\n".join(changes.comparison_lines(plans)))
            print()
            print(_plan_text(plan))
        return 0
    require_actions(args, config, cluster.name, "rebalance (it moves shards)")
    if not args.json:
        print(_plan_text(plan))
    confirm(
        args,
        f"the rebalance above moves shards between the workers of {cluster.name}.",
        cluster.name,
    )
    return _follow_and_report(RebalanceJob(spec, plan), "rebalance", args.json)
