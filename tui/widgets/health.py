"""The one-line cluster health summary at the top of every screen."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Static

from clustertop.tui import format as fmt
from clustertop.tui.alerts import CRIT, WARN
from clustertop.tui.state import AppState

LEVEL_STYLE = {CRIT: "bold red", WARN: "yellow"}


class HealthBar(Static):
    DEFAULT_CSS = """
    HealthBar { height: 1; background: $panel; padding: 0 1; }
    """

    def show(self, state: AppState, screen_name: str) -> None:
        round_ = state.latest
        text = Text()
        text.append(f"{screen_name} ", style="bold")
        if state.replay_status:
            text.append(f"{state.replay_status} · ", style="bold magenta")
        if state.recording:
            text.append(f"REC {state.recording} · ", style="bold red")
        if round_ is None:
            text.append("waiting for the first poll")
            self.update(text)
            return
        # The gate first: what an operator about to start a change looks at (g: its rules).
        verdicts = list(state.verdicts.values())
        if verdicts:
            held = [v.cluster for v in verdicts if not v.go]
            if held:
                more = f"+{len(held) - 1}" if len(held) > 1 else ""
                text.append(f"NO-GO {held[0]}{more}", style="bold red")
            else:
                text.append("GO", style="bold green")
            text.append(" · ")
        active = list(state.alerts.active.values())
        if active:
            level = CRIT if any(a.level == CRIT for a in active) else WARN
            text.append(f"{len(active)} alert(s)", style=LEVEL_STYLE[level])
            text.append(" · ")
        # The nodes the filter shows: the counts agree with the table beneath.
        shown_nodes = state.nodes()
        up = sum(1 for n in shown_nodes if n.up)
        down = len(shown_nodes) - up
        lagging = [n for n in shown_nodes if n.lag_s is not None]
        worst = max(lagging, key=lambda n: n.lag_s or 0.0) if lagging else None
        if state.filter:
            text.append(f"filter '{state.filter}' {len(shown_nodes)}/{len(round_.nodes)} · ",
                        style="bold")
        text.append(f"{up} up")
        if down:
            text.append(f" {down} DOWN", style="bold red")
        shown = fmt.lag(worst.lag_s, worst.lag_is_lower_bound) if worst else fmt.DASH
        text.append(f" · lag {shown}")
        if state.config.read_only:
            # No heartbeat written: the lag is the engine's own (whole seconds, or unknown).
            text.append(" · read-only (engine lag)", style="bold")
        skews = [
            n.detail.citus.skew
            for n in round_.nodes
            if n.detail and n.detail.citus and n.detail.citus.skew is not None
        ]
        if skews:
            text.append(f" · skew {max(skews):.0%}")
        running = [j for j in state.job_snapshots if j.running]
        if running:
            text.append(f" · {len(running)} job(s)")
        stamp = time.strftime("%H:%M:%S", time.gmtime(round_.at))
        text.append(" · paused" if state.paused else f" · {state.poll_interval:g}s {stamp}Z")
        # The alerts' texts go last, worst first, as many as the width shows: on a narrow
        # terminal they are what gets cut; their count stays near the front (below).
        alerts = sorted(state.alerts.active.values(), key=lambda a: a.level != CRIT)
        if alerts:
            for i, alert in enumerate(alerts):
                text.append(" · " if i == 0 else " | ")
                text.append(alert.text, style=LEVEL_STYLE[alert.level])
        else:
            text.append(" · no alerts", style="green")
        self.update(text)
