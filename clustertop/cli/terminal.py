"""What a command does at the operator's terminal: ask before changing data, and follow a
background job to its end with its log on stderr."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable, Iterator, Sequence
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


@contextlib.contextmanager
def controlled(jobs: Callable[[], Sequence[Any]], command: str) -> Iterator[None]:
    """While a change runs, `clustertop job` can pause, change and stop it; the socket says
    where on stderr. A machine where no socket can be made runs the change all the same."""
    from clustertop.core.errors import OperationFailed
    from clustertop.usecases.control import ControlServer

    try:
        server = ControlServer(jobs, command).__enter__()
    except (OSError, OperationFailed) as exc:
        print(f"clustertop: note: no live control (`clustertop job`): {exc}", file=sys.stderr)
        yield
        return
    try:
        yield
    finally:
        server.__exit__(None, None, None)


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
