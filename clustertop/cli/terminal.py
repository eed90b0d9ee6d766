"""What a command does at the operator's terminal: ask before changing data, and follow a
background job to its end with its log on stderr."""

from __future__ import annotations

import argparse
import time
from typing import Any

from clustertop.core.errors import MISSING, InputError


def confirm(args: argparse.Namespace, prompt: str, expected: str) -> None:
    """--yes, or the operator types `expected` on the terminal; no terminal: refuse."""
    if args.yes:
        return
    try:
        tty = open("/dev/tty", "r+", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError:
        raise InputError("--yes", MISSING, "no terminal to confirm on: pass --yes") from None
    with tty:
        tty.write(f"{prompt}\nType {expected} to go on: ")
        tty.flush()
        answer = tty.readline().strip()
    if answer != expected:
        raise InputError(
            "confirmation", answer or MISSING, f"did not match {expected}: nothing done"
        )


def follow(job: Any, say: Any) -> Any:
    """Run a job to its end, its log on stderr; Ctrl-C cancels it (at a consistent point)."""
    job.start()
    shown = 0
    try:
        while job.snapshot().running:
            time.sleep(0.2)
            lines = job.snapshot().log
            for line in lines[shown:]:
                say(line)
            shown = len(lines)
    except KeyboardInterrupt:
        say("cancelling: stopping at the next consistent point")
        job.cancel()
    job.join()
    lines = job.snapshot().log
    for line in lines[shown:]:
        say(line)
    return job.snapshot()
