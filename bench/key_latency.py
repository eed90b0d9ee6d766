"""How fast the TUI answers a key while a node is SIGSTOPped, beside the same with every node
healthy, in one run.

Usage: .venv/bin/python bench/key_latency.py [--dir LAB_DIR] [--presses 60]

The TUI runs headless (Textual's test pilot) on the lab's four nodes, polling every second.
Each press switches screens (1, 2, 3, ... in turn); the time from the press to the new screen
being current is one answer. Phase 1: every node healthy. Phase 2: the MariaDB primary is
SIGSTOPped (it accepts TCP connections and never answers), so every poll round has a node
that hangs until its timeout. The reliability issue asks for an answer within 200 ms with a
stopped node; the healthy phase is the baseline the ratio is taken against.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import time

from benchlab import bench_lab

from clustertop.core.config import load_config
from clustertop.lab.lab import Lab
from clustertop.tui.app import SCREENS_BY_KEY, make_app
from clustertop.usecases.wiring import make_poller


async def answers(lab: Lab, presses: int) -> list[float]:
    config = load_config(lab.config_path)
    app = make_app(config, source=make_poller(config))
    keys = list(SCREENS_BY_KEY)
    times: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(3)  # the first rounds are in
        for i in range(presses):
            key = keys[(i + 1) % len(keys)]
            mode = SCREENS_BY_KEY[key][0]
            started = time.perf_counter()
            await pilot.press(key)
            while app.current_mode != mode:
                await asyncio.sleep(0.001)
            times.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.25)  # spread the presses over the poll cycle
    return times


def summary(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"{name}: {len(times)} presses, median {statistics.median(times):.1f} ms, "
        f"p95 {p95:.1f} ms, max {max(times):.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir")
    parser.add_argument("--presses", type=int, default=60)
    args = parser.parse_args()
    with bench_lab(args.dir, replicas=1) as lab:
        healthy = asyncio.run(answers(lab, args.presses))
        node = next(n for n in lab.nodes() if n.cluster == "lab-mariadb" and n.role == "primary")
        pid = lab._running_pid(node)
        assert pid
        os.kill(pid, signal.SIGSTOP)
        try:
            stopped = asyncio.run(answers(lab, args.presses))
        finally:
            os.kill(pid, signal.SIGCONT)
    print(summary("every node healthy", healthy))
    print(summary("MariaDB primary SIGSTOPped", stopped))
    print(
        f"ratio (stopped / healthy): median {statistics.median(stopped) / statistics.median(healthy):.2f}, "
        f"max {max(stopped) / max(healthy):.2f}; goal: every answer < 200 ms: "
        f"{'met' if max(stopped) < 200 else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
