"""`clustertop gate`: the Go/No-Go checklist, each rule PASS / FAIL / UNKNOWN / N/A with the
value measured and the threshold; exit 0 for GO, 1 for NO-GO, 2 for bad input."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from clustertop.cli.common import resolve_config, say


def add_parser(add: Any) -> None:
    p = add("gate", "Go/No-Go: judge the cluster against the gate's rules (exit 0 GO, 1 NO-GO)")
    p.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    p.add_argument("--wait", type=float, metavar="S", default=0.0,
                   help="poll until GO or S seconds pass (for scripts: gate --wait 300 && ...)")
    p.add_argument("--rule", action="append", default=[], metavar="EXPR",
                   help="one more rule, e.g. 'active < 20' (repeatable)")
    p.add_argument("--metrics", action="store_true", help="list the metrics a rule can name")


def render(verdicts: Sequence[Any]) -> str:
    lines = []
    for verdict in verdicts:
        counts: dict[str, int] = {}
        for result in verdict.results:
            counts[result.state] = counts.get(result.state, 0) + 1
        tally = ", ".join(f"{n} {state.lower()}" for state, n in counts.items())
        lines.append(f"{verdict.cluster}: {verdict.word} ({tally})")
        for r in verdict.results:
            why = f"  {r.why}" if r.why else ""
            unknown = " (unknown passes)" if r.state == "UNKNOWN" and r.rule.unknown_pass else ""
            lines.append(f"  {r.state:<8} {r.rule.text:<34} {r.shown:>12}{why}{unknown}")
    return "\n".join(lines)


def cmd_gate(args: argparse.Namespace) -> int:
    from clustertop.core.gate import CLUSTER_METRICS, NODE_METRICS

    if args.metrics:
        for name, what in {**CLUSTER_METRICS, **NODE_METRICS}.items():
            print(f"{name:<28} {what}")
        return 0
    if args.wait < 0 or args.wait != args.wait or args.wait > 86_400:
        from clustertop.core.errors import InputError

        raise InputError("--wait", args.wait, "must be 0 to 86400 seconds")
    from clustertop.usecases.gate import GateWatch

    config = resolve_config(args)
    if args.cluster:
        config = config.select(args.cluster)
    watch = GateWatch(config, args.rule)
    try:
        if args.wait:
            def progress(verdicts: Sequence[Any]) -> None:
                waiting = [f"{v.cluster} {v.reason()}" for v in verdicts if not v.go]
                if waiting:
                    say("gate: NO-GO: " + "; ".join(waiting))
            verdicts = watch.wait_for_go(args.wait, progress)
        else:
            verdicts = watch.settle()
    finally:
        watch.close()
    if args.json:
        print(json.dumps([v.to_json() for v in verdicts], indent=2))
    else:
        print(render(verdicts))
    return 0 if all(v.go for v in verdicts) else 1
