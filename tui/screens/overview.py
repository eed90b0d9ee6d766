"""Screen 1: every node of every cluster in one table."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from clustertop.config import Config
from collectors.samples import NodeSample, PollRound
from tui import format as fmt
from tui.widgets.health import HealthBar

COLUMNS = (
    ("cluster", "Cluster"),
    ("node", "Node"),
    ("engine", "Engine"),
    ("role", "Role"),
    ("state", "State"),
    ("lag", "Lag"),
    ("conns", "Conns"),
    ("active", "Active"),
    ("hit", "Cache hit"),
    ("uptime", "Uptime"),
)


class OverviewScreen(Screen[None]):
    def __init__(self, config: Config) -> None:
        super().__init__(id="overview")
        self.config = config

    def compose(self) -> ComposeResult:
        yield HealthBar(self.config)
        table: DataTable[str | Text] = DataTable(id="nodes", cursor_type="row", zebra_stripes=True)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Footer()

    def show_round(self, round_: PollRound) -> None:
        self.query_one(HealthBar).show_round(round_)
        table: DataTable[str | Text] = self.query_one("#nodes", DataTable)
        for sample in round_.nodes:
            cells = self._cells(sample)
            if sample.key in table.rows:
                for (column, _label), value in zip(COLUMNS, cells, strict=True):
                    table.update_cell(sample.key, column, value)
            else:
                table.add_row(*cells, key=sample.key)

    def _cells(self, s: NodeSample) -> list[str | Text]:
        thresholds = (
            self.config.clusters[s.cluster].thresholds
            if s.cluster in self.config.clusters
            else None
        )
        state = Text("up", style="green") if s.up else Text("DOWN", style="bold red")
        lag_text = fmt.seconds(s.engine_lag_s)
        lag_style = ""
        if s.replication and s.engine_lag_s is None:
            lag_text = "?"
            lag_style = "bold red"
        elif s.engine_lag_s is not None and thresholds is not None:
            if s.engine_lag_s >= thresholds.lag_crit_s:
                lag_style = "bold red"
            elif s.engine_lag_s >= thresholds.lag_warn_s:
                lag_style = "yellow"
        return [
            s.cluster,
            s.node,
            s.engine,
            s.role or fmt.DASH,
            state,
            Text(lag_text, style=lag_style),
            fmt.count_of(s.connections, s.max_connections),
            fmt.DASH if s.active is None else str(s.active),
            fmt.ratio(s.cache_hit_ratio),
            fmt.duration(s.uptime_s),
        ]
