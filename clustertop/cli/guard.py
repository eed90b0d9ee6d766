"""`clustertop guard [options] -- COMMAND [ARGS]`: run a change command watched by the gate's
rules; stop or pause it when one trips. Exit: the command's own code, 3 when the guard stopped
it, 1 when the gate was NO-GO before the start (nothing started), 2 for bad input."""

from __future__ import annotations

import argparse
from typing import Any

from clustertop.cli.common import resolve_config, save_result, say
from clustertop.cli.types import non_negative_float


def add_parser(add: Any) -> None:
    p = add("guard", "run a change command under the gate: stop or pause it when a rule trips")
    p.add_argument("--rule", action="append", default=[], metavar="EXPR",
                   help="one more abort rule, e.g. 'lag_s < 2 for 5s' (repeatable)")
    p.add_argument("--on-trip", choices=["stop", "pause"], default="stop",
                   help="stop: SIGTERM, then SIGKILL after --grace; pause: SIGSTOP until every"
                   " rule is clear for --resume-after (default stop)")
    p.add_argument("--grace", type=non_negative_float, default=10.0, metavar="S",
                   help="seconds between SIGTERM and SIGKILL (default 10)")
    p.add_argument("--resume-after", type=non_negative_float, default=5.0, metavar="S",
                   help="pause: continue once every rule is clear this long (default 5)")
    p.add_argument("--max-pause", type=non_negative_float, default=60.0, metavar="S",
                   help="pause: stop instead once a session waits on a lock this long while the"
                   " command is stopped (default 60)")
    p.add_argument("--json", action="store_true", help="print the run's record as JSON")
    p.add_argument("guarded", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS]")


def cmd_guard(args: argparse.Namespace) -> int:
    import json

    from clustertop.usecases.guard import GuardRun, GuardSpec

    command = list(args.guarded)
    if command and command[0] == "--":
        command = command[1:]
    config = resolve_config(args)
    config = config.select(args.cluster) if args.cluster else config
    spec = GuardSpec(config, tuple(command), tuple(args.rule), args.on_trip, args.grace,
                     args.resume_after, args.max_pause)
    spec.check()
    code, record = GuardRun(spec, say).run()
    path = save_result("guard", record)
    if args.json:
        print(json.dumps(record, indent=2))
    say(f"guard: {'stopped by the guard' if record['stopped_by_guard'] else 'ended'} with exit"
        f" {code}, {record['trips']} trip(s); record saved {path}")
    return int(code)
