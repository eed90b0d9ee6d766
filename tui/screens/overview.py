"""Screen 1: every node of every cluster in one table, the columns that fit, most useful first."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid
from textual.events import Resize
from textual.widgets import DataTable, Static

from clustertop.collectors.samples import NodeSample, TimescaleSample
from clustertop.tui import format as fmt
from clustertop.tui.alerts import CRIT, OK, lag_level
from clustertop.tui.screens.base import MonitorScreen, styled
from clustertop.tui.screens.replication import LAG_CHART_FLOOR_S
from clustertop.tui.widgets.charts import TimeChart

# Sparklines scale to their own maximum, but never below these: 0.0-0.1 s of lag noise, or a
# few transactions a second, stay low bars instead of full-height ones.
LAG_SPARK_FLOOR_S = 1.0
TPS_SPARK_FLOOR = 10.0


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    priority: int  # 0 always shown; higher numbers drop first on a narrow terminal


COLUMNS = (
    Column("node", "Node", 22, 0),
    Column("state", "State", 5, 0),
    Column("lag", "Lag", 6, 1),
    Column("tps", "TPS", 6, 1),
    Column("blocked", "Blkd", 4, 1),
    Column("role", "Role", 11, 2),
    Column("conns", "Conns", 7, 2),
    Column("lag_trend", "Lag trend", 10, 3),
    Column("tps_trend", "TPS trend", 10, 3),
    Column("engine_lag", "Eng lag", 7, 4),
    Column("qps", "QPS", 6, 4),
    Column("hit", "Hit", 6, 5),
    Column("engine", "Engine", 8, 5),
    Column("active", "Active", 6, 6),
    Column("uptime", "Uptime", 6, 6),
)


def columns_for(width: int) -> tuple[Column, ...]:
    """The columns that fit `width`, dropping the highest priority numbers first."""
    chosen = list(COLUMNS)
    for priority in sorted({c.priority for c in COLUMNS}, reverse=True):
        if sum(c.width + 2 for c in chosen) + 2 <= width or priority == 0:
            break
        chosen = [c for c in chosen if c.priority < priority]
    return tuple(chosen)


class OverviewScreen(MonitorScreen):
    SCREEN_TITLE = "1 Overview"

    def __init__(self) -> None:
        super().__init__(id="overview")
        self.columns: tuple[Column, ...] = ()

    DEFAULT_CSS = """
    OverviewScreen #nodes { height: 1fr; }
    OverviewScreen.tall #nodes { height: auto; max-height: 50%; }
    OverviewScreen #node-detail { height: auto; max-height: 4; padding: 0 1; color: $text-muted; }
    OverviewScreen #overview-charts { grid-size: 2; height: 1fr; display: none; }
    OverviewScreen.tall #overview-charts { display: block; }
    """
    # From this many rows the room below the nodes shows TPS and lag over time.
    TALL = 36

    def compose_body(self) -> ComposeResult:
        yield DataTable(id="nodes", cursor_type="row", zebra_stripes=True)
        yield Static("", id="node-detail")
        with Grid(id="overview-charts"):
            yield TimeChart("TPS per node", id="overview-tps")
            yield TimeChart("replication lag per replica", "s", id="overview-lag")

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        """The highlighted node's error in full (a DOWN node, a stopped thread), or its facts."""
        key = self.selected_key
        sample = next((n for n in self.state.nodes() if n.key == key), None)
        detail = self.query_one("#node-detail", Static)
        if sample is None:
            detail.update("")
            return
        if not sample.up:
            detail.update(Text(f"{sample.key} DOWN: {sample.down_text}", style="bold red"))
            return
        parts = [f"{sample.key} {sample.version or ''}"]
        if sample.accepting_connections is False:
            parts.append(f"up, but NOT accepting new connections: {sample.accept_error}")
        for rep in sample.replication:
            parts.append(f"from {rep.source} io={rep.io_running} sql={rep.sql_running}")
            for err in (rep.last_io_error, rep.last_sql_error):
                if err:
                    parts.append(err)
            if rep.heartbeat_error:
                parts.append(f"heartbeat: {rep.heartbeat_error}")
        if sample.heartbeat_writer:
            parts.append(f"heartbeat {sample.heartbeat_writer}")
        parts.extend(f"unknown: {note}" for note in sample.unknown)
        timescale = sample.detail.timescale if sample.detail is not None else None
        if timescale is not None:
            cluster = self.state.config.clusters.get(sample.cluster)
            parts.append(timescale_text(timescale, cluster.silenced_jobs if cluster else ()))
        detail.update(" · ".join(parts))

    def on_mount(self) -> None:
        self._set_columns(self.app.size.width)
        self.set_class(self.app.size.height >= self.TALL, "tall")

    def on_resize(self, event: Resize) -> None:
        self._set_columns(event.size.width)
        self.set_class(self.app.size.height >= self.TALL, "tall")
        self.update_body()

    def _set_columns(self, width: int) -> None:
        columns = columns_for(width)
        if columns == self.columns:
            return
        self.columns = columns
        table: DataTable[str | Text] = self.query_one("#nodes", DataTable)
        table.clear(columns=True)
        for c in columns:
            table.add_column(c.label, key=c.key, width=c.width)

    def update_body(self) -> None:
        table: DataTable[str | Text] = self.query_one("#nodes", DataTable)
        wanted = [n.key for n in self.state.nodes()]
        for row_key in list(table.rows):
            if row_key.value not in wanted:
                table.remove_row(row_key)
        for sample in self.state.nodes():
            cells = self.cells(sample)
            values = [cells[c.key] for c in self.columns]
            if sample.key in table.rows:
                for c, value in zip(self.columns, values, strict=True):
                    table.update_cell(sample.key, c.key, value)
            else:
                table.add_row(*values, key=sample.key)
        self._show_detail()
        if self.has_class("tall"):
            self._draw_charts()

    def _draw_charts(self) -> None:
        nodes = self.state.nodes()
        one_cluster = len({n.cluster for n in nodes}) == 1

        def name(n: NodeSample) -> str:
            return n.node if one_cluster else n.key

        self.query_one("#overview-tps", TimeChart).draw([
            (name(n), [(h.at, h.throughput.tps if h.throughput else None)
                       for h in self.state.series(n.key)])
            for n in nodes
        ])
        self.query_one("#overview-lag", TimeChart).draw([
            (name(n), [(h.at, h.lag_s) for h in self.state.series(n.key)])
            for n in nodes if n.replication
        ], floor=LAG_CHART_FLOOR_S)

    def cells(self, s: NodeSample) -> dict[str, str | Text]:
        thresholds = self.state.alerts.thresholds(s.cluster)
        history = self.state.series(s.key)
        if s.replication and s.lag_s is None:
            lag = styled("?", CRIT)  # a replica whose lag is unknown is not "no lag"
        elif s.replication:
            lag = styled(fmt.lag(s.lag_s, s.lag_is_lower_bound), lag_level(s.lag_s, thresholds))
        else:
            lag = Text(fmt.DASH)
        if s.replication and s.engine_lag_s is None:
            stopped = next((r for r in s.replication if r.running is False), None)
            engine_lag = styled("stopped" if stopped else "?", CRIT)
        else:
            engine_lag = Text(fmt.seconds(s.engine_lag_s))
        tps = s.throughput.tps if s.throughput else None
        qps = s.throughput.qps if s.throughput else None
        return {
            "node": Text(s.key, style="" if s.up else "red"),
            "state": _state(s),
            "lag": lag,
            "tps": fmt.rate(tps),
            "blocked": _blocked(s),
            "role": s.role or fmt.DASH,
            "conns": fmt.count_of(s.connections, s.max_connections),
            "lag_trend": Text(fmt.sparkline([h.lag_s for h in history], 10, floor=LAG_SPARK_FLOOR_S), style="cyan"),
            "tps_trend": Text(
                fmt.sparkline([h.throughput.tps if h.throughput else None for h in history], 10,
                              floor=TPS_SPARK_FLOOR),
                style="magenta",
            ),
            "engine_lag": engine_lag,
            "qps": fmt.rate(qps),
            "hit": fmt.ratio(s.cache_hit_ratio),
            "engine": s.engine,
            "active": fmt.DASH if s.active is None else str(s.active),
            "uptime": fmt.duration(s.uptime_s),
        }

    @property
    def selected_key(self) -> str | None:
        table: DataTable[str | Text] = self.query_one("#nodes", DataTable)
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value


def timescale_text(timescale: TimescaleSample, silenced_jobs: tuple[str, ...] = ()) -> str:
    """TimescaleDB's version and its jobs, the failing ones named with their last error."""
    text = f"TimescaleDB {timescale.version} ({timescale.license or '?'} license)"
    if timescale.jobs_error:
        return f"{text}, jobs not readable: {timescale.jobs_error}"
    failing = [j for j in timescale.jobs if j.failing]
    text += f", {len(timescale.jobs)} jobs"
    for job in failing:
        silenced = " (silenced)" if job.silenced_by(silenced_jobs) else ""
        text += (
            f"; job {job.job_id} {job.name} FAILING{silenced} ({job.failures or '?'} of "
            f"{job.runs or '?'} runs): {job.last_error or 'no error recorded'}"
        )
    return text


def _blocked(sample: NodeSample) -> Text:
    """Sessions waiting on a lock (Activity, key 7, shows who blocks them)."""
    if sample.sessions is None or not sample.up:
        return Text(fmt.DASH)
    blocked = sample.sessions.blocked
    return Text(str(blocked), style="bold red" if blocked else "")


def _state(sample: NodeSample) -> Text:
    if not sample.up:
        return styled("DOWN", CRIT)
    if sample.accepting_connections is False:
        # Answers on the sessions it has, lets nobody new in: a stopped postmaster, or
        # max_connections used up.
        return styled("stuck", CRIT)
    return styled("up", OK)
