"""`clustertop job`: list, pause, resume, change and stop the jobs of a running `clustertop
cleanup` or `compare` from another terminal (or a script), through its control socket."""

from __future__ import annotations

import argparse
import json
from typing import Any

from clustertop.cli.common import say
from clustertop.core.errors import InputError

JOB_HELP = "PID:ID as `clustertop job list` prints it, or PID (default: the only running job)"


def add_parser(add: Any) -> None:
    p = add("job", "list, pause, resume, change or stop a running cleanup's job (headless)")
    sub = p.add_subparsers(dest="job_command", metavar="ACTION", required=True,
                           parser_class=type(p))  # one-line usage errors, as every command
    listing = sub.add_parser("list", help="every running job that takes control, a line each")
    listing.add_argument("--json", action="store_true", help="print JSON")
    for name, text in (
        ("pause", "hold the job at its next chunk boundary"),
        ("resume", "let a held job go on"),
        ("stop", "stop the job at its next chunk boundary (what is done stays done)"),
    ):
        sub.add_parser(name, help=text, description=text).add_argument(
            "job", nargs="?", metavar="JOB", help=JOB_HELP)
    change = sub.add_parser(
        "set", help="change a setting from the next chunk on: batch_size, batch_delay_s, "
        "max_lag_s, target_lag_s, chunk_time_s (the last three take off)")
    change.add_argument("assignment", metavar="KEY=VALUE")
    change.add_argument("job", nargs="?", metavar="JOB", help=JOB_HELP)


def cmd_job(args: argparse.Namespace) -> int:
    from clustertop.usecases import control

    if args.job_command == "list":
        jobs = control.list_jobs()
        if args.json:
            print(json.dumps([{"job": j.ref, "command": j.command, **j.job} for j in jobs],
                             indent=2))
            return 0
        if not jobs:
            say("no running clustertop job takes control (a `clustertop cleanup` or `compare`"
                " of this user)")
            return 0
        print(f"{'JOB':<12} {'KIND':<8} {'STATE':<10} {'DONE':>20}  TITLE")
        for j in jobs:
            job = j.job
            state = "paused" if job["paused"] and job["state"] == "running" else job["state"]
            total = f"/{job['total']:,.0f}" if job.get("total") else ""
            print(f"{j.ref:<12} {job['kind']:<8} {state:<10} "
                  f"{job['done']:>12,.0f}{total:<8}  {job['title']}")
            if job["settings"]:
                print(" " * 13 + ", ".join(f"{k} {v}" for k, v in job["settings"].items()))
            if job.get("current"):
                print(" " * 13 + job["current"])
        return 0
    if args.job_command == "set":
        key, sep, value = args.assignment.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError("KEY=VALUE", args.assignment, "must be KEY=VALUE, e.g. batch_size=2000")
        print(control.command(args.job, "set", key.strip(), value.strip()))
        return 0
    print(control.command(args.job, args.job_command))
    return 0
