"""The demo as a new user meets it, recorded: `clustertop demo` in an 80x24 tmux pane, keys
typed on a three-minute timeline, the pane captured twice a second into an asciicast v2 file
(`asciinema play walkthrough.cast`, or any asciicast player), with a text transcript of the
frames at each step.

Usage: .venv/bin/python bench/walkthrough.py [--dir LAB_DIR] [--out DIR] [--size 80x24]

The timeline: the Overview with the demo's hint; Throughput with the background workloads;
`c` a dry run of the demo's cleanup (batch_delete on cleanup_bench.cleanup_batch, 1,000,000
rows, in batches of 250,000); `c` again, which opens with the same values for real and the confirmation focused,
the table's name typed; the Replication screen while it deletes; Jobs; `c` compare all four;
Jobs with the comparison's results; `q`, `y` to stop its workloads, and what the demo says on
leaving. The highest
replica lag the panes showed is printed at the end (the demo is meant to make lag visible).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchlab import tmux_session

from clustertop.actions.cleanup.job import METHODS

REPO = Path(__file__).resolve().parent.parent
CLUSTERTOP = str(REPO / ".venv" / "bin" / "clustertop")
SESSION = "clustertop-walkthrough"
FRAME_S = 0.5
TABLE = "cleanup_bench.cleanup_batch"


class Recorder:
    def __init__(self, out: Path, width: int, height: int) -> None:
        self.out = out
        self.width, self.height = width, height
        self.started = time.monotonic()
        self.events: list[tuple[float, str]] = []
        self.transcript: list[str] = []
        self.last = ""
        self.lags: list[float] = []

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def pane(self, escapes: bool) -> str:
        args = ["tmux", "capture-pane", "-p", "-t", SESSION] + (["-e"] if escapes else [])
        return subprocess.run(args, capture_output=True, text=True, check=False).stdout

    def frame(self) -> str:
        shown = self.pane(escapes=True)
        if shown != self.last:
            self.last = shown
            lines = shown.rstrip("\n").split("\n")
            self.events.append((self.elapsed(), "\x1b[H\x1b[2J" + "\r\n".join(lines)))
        text = self.pane(escapes=False)
        # The header line's lag (e.g. `lag 3.2s`): what the screen showed, not our own reading.
        for match in re.finditer(r"\blag (\d+(?:\.\d+)?)s\b", text.split("\n", 1)[0]):
            self.lags.append(float(match.group(1)))
        return text

    def watch(self, seconds: float) -> str:
        text = ""
        until = self.elapsed() + seconds
        while self.elapsed() < until:
            text = self.frame()
            time.sleep(FRAME_S)
        return text

    def step(self, name: str, text: str | None = None) -> None:
        text = text if text is not None else self.frame()
        stamp = time.strftime("%M:%S", time.gmtime(self.elapsed()))
        self.transcript.append(f"## {stamp} {name}\n\n```\n{text.rstrip()}\n```\n")
        print(f"{stamp} {name}", file=sys.stderr)

    def write(self) -> None:
        header = {"version": 2, "width": self.width, "height": self.height,
                  "timestamp": int(time.time()), "title": "clustertop demo walkthrough"}
        with (self.out / "walkthrough.cast").open("w") as cast:
            cast.write(json.dumps(header) + "\n")
            for at, data in self.events:
                cast.write(json.dumps([round(at, 3), "o", data]) + "\n")
        (self.out / "walkthrough.md").write_text("\n".join(self.transcript))


def keys(*sent: str, literal: bool = False) -> None:
    for key in sent:
        subprocess.run(["tmux", "send-keys", "-t", SESSION] + (["-l"] if literal else [])
                       + [key], check=True)
        time.sleep(0.15)


def wait_for(rec: Recorder, needle: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = rec.frame()
        if needle in text:
            return text
        time.sleep(FRAME_S)
    raise SystemExit(f"walkthrough: {needle!r} did not show within {timeout:g} s:\n{rec.last}")


def comparison_done(shown: str) -> bool:
    """Jobs shows the comparison's table with each method's run ended (the demo's background
    workloads keep running beside it)."""
    rows = [line.split() for line in shown.split("\n")]
    states = {row[0]: row[1] for row in rows if len(row) > 1 and row[0] in METHODS}
    return len(states) == len(METHODS) and all(
        state in ("finished", "failed", "cancelled") for state in states.values())


def wait_until(rec: Recorder, done: Callable[[str], bool], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = rec.frame()
        if done(text):
            return text
        time.sleep(FRAME_S)
    raise SystemExit(f"walkthrough: not done within {timeout:g} s:\n{rec.last}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default="/tmp/clustertop-walkthrough-lab")
    parser.add_argument("--out", default="/tmp/clustertop-walkthrough")
    parser.add_argument("--size", default="80x24")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    width, height = (int(v) for v in args.size.split("x"))
    # The lab and its data first (as `./run demo` does before the TUI opens), untimed.
    subprocess.run([CLUSTERTOP, "demo", "--dir", args.dir, "--no-tui"], check=True)
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True, check=False)
    env = {"TERM": "xterm-256color", "COLORTERM": "truecolor", "PATH": os.environ["PATH"]}
    tmux_session(SESSION, f"{CLUSTERTOP} demo --dir {args.dir}", env, args.size)
    # The pane stays after the TUI exits, so what the demo says on leaving is recorded too.
    subprocess.run(["tmux", "set-option", "-t", SESSION, "remain-on-exit", "on"], check=True)
    rec = Recorder(out, width, height)
    try:
        rec.step("the demo opens on the Overview, with its hint", wait_for(rec, "Overview", 60))
        rec.step("the background workloads at work", rec.watch(8))
        keys("3")
        rec.step("3: Throughput", rec.watch(8))
        keys("c")
        rec.step("c: the demo's cleanup (batches of 250,000), a dry run first",
                 wait_for(rec, "clean up old", 10))
        keys("Enter")
        rec.step("a dry run: the SQL it would send, on Jobs", wait_for(rec, "dry run done", 60))
        rec.watch(4)
        keys("c")
        rec.step("c again: the same cleanup, for real, the confirmation focused",
                 wait_for(rec, "for real", 10))
        keys(TABLE, literal=True)
        rec.step("the table's name typed", rec.watch(1))
        keys("Enter")
        rec.watch(2)
        keys("2")
        rec.step("2: Replication while batch_delete runs", rec.watch(10))
        rec.step("... the lag it makes", rec.watch(20))
        keys("6")
        rec.step("6: Jobs", rec.watch(6))
        keys("c")
        wait_for(rec, "clean up old", 10)
        keys("Tab", "Tab")  # cluster -> table -> method
        keys("Down")  # opens the method's list
        time.sleep(0.5)
        keys("End", "Enter")  # the last choice: compare all four
        # To the confirmation: retention, batch, delay, max lag, target lag, gate (the table
        # and dry run rows hide for a comparison).
        keys("Tab", "Tab", "Tab", "Tab", "Tab", "Tab", "Tab")
        keys("cleanup_bench", literal=True)
        rec.step("c: compare all four, confirmed", rec.watch(1))
        keys("Enter")
        rec.step("the comparison under way", rec.watch(20))
        text = wait_until(rec, comparison_done, 240)
        rec.step("the comparison's results", text)
        rec.watch(6)
        keys("2")
        rec.step("2: Replication after it", rec.watch(6))
        keys("q")
        rec.step("q: the running workloads are named before anything stops",
                 wait_for(rec, "Stop them and quit?", 10))
        keys("y")
        rec.step("y: what the demo says on leaving", wait_for(rec, "still running", 30))
    finally:
        rec.write()  # first: what was recorded is kept however the run ends
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True,
                       check=False)
    top = max(rec.lags, default=0.0)
    print(f"walkthrough: {rec.elapsed():.0f} s, {len(rec.events)} frames, highest lag on the "
          f"header {top:.1f} s; {out / 'walkthrough.cast'}, {out / 'walkthrough.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
