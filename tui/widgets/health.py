"""The one-line cluster health summary at the top of every screen."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.widgets import Static

from clustertop.config import Config
from collectors.samples import PollRound
from tui import format as fmt


class HealthBar(Static):
    DEFAULT_CSS = """
    HealthBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, config: Config, clock: Callable[[], float] = time.time) -> None:
        super().__init__("clustertop: waiting for the first poll", id="health")
        self.config = config

    def show_round(self, round_: PollRound) -> None:
        up = sum(1 for n in round_.nodes if n.up)
        down = [n.key for n in round_.nodes if not n.up]
        lags = [n.engine_lag_s for n in round_.nodes if n.engine_lag_s is not None]
        worst = max(lags) if lags else None
        stamp = time.strftime("%H:%M:%S", time.gmtime(round_.at))
        parts = [
            f"{len(self.config.clusters)} cluster(s)",
            f"{up} up",
            f"[bold red]{len(down)} DOWN[/]" if down else "0 down",
            f"worst lag {fmt.seconds(worst)}",
            f"poll {round_.duration_ms:.0f} ms at {stamp} UTC",
        ]
        self.update(" · ".join(parts))
