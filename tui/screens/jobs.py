"""Screen 6: running and finished jobs with progress, rate, ETA, live log lines, results, and
finished comparisons side by side."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.widgets import DataTable, Static

from clustertop.actions.jobs import CANCELLED, FAILED, FINISHED, JobSnapshot
from clustertop.tui import format as fmt
from clustertop.tui.screens.base import MonitorScreen
from clustertop.tui.screens.form import JobSettingsForm
from clustertop.tui.widgets.charts import TimeChart

STATE_STYLE = {FINISHED: "green", FAILED: "bold red", CANCELLED: "yellow"}


def progress_bar(fraction: float | None, width: int = 12) -> str:
    if fraction is None:
        return "?".center(width + 5)
    filled = round(fraction * width)
    return "█" * filled + "░" * (width - filled) + f" {fraction * 100:3.0f}%"


def is_dry_run(job: JobSnapshot) -> bool:
    return job.title.startswith("dry run")


def job_progress(job: JobSnapshot) -> str:
    """The bar, except for a dry run that finished: it sends nothing, so nothing was done,
    and an empty bar at 0% would read as a failure."""
    if job.state == FINISHED and is_dry_run(job) and not job.fraction:
        return "dry run done".center(17)
    return progress_bar(job.fraction)


# What the Jobs charts draw, the first that a job has: (title, unit, series names); an empty
# unit is the job's own unit per second.
RATE_SERIES = (
    ("TPS against its target", "tps", ("achieved", "target")),
    ("rows per second", "", ("rows_per_s",)),
    ("skew", "", ("skew",)),
)
SECOND_SERIES = (
    ("latency", "ms", ("p50_ms", "p95_ms", "p99_ms")),
    ("replica lag it is throttled on", "s", ("lag_s",)),
    ("chunk size", "rows", ("chunk_rows",)),
)


class JobsScreen(MonitorScreen):
    SCREEN_NAME = "Jobs"
    SCREEN_TITLE = "6 Jobs"
    BINDINGS = [
        Binding("x", "stop_job", "Stop", id="stop_job", tooltip="stop the selected job"),
        Binding(
            "P", "pause_job", "Hold", id="pause-job",
            tooltip="hold the selected job at its next chunk boundary, or let it go on",
        ),
        Binding(
            "e", "change_job", "Change", id="change-job",
            tooltip="change the selected job's chunk size, delay or max lag while it runs",
        ),
    ]
    DEFAULT_CSS = """
    JobsScreen #jobs { height: auto; max-height: 9; }
    JobsScreen #job-detail { height: 1fr; padding: 0 1; }
    JobsScreen #comparison { height: auto; max-height: 8; }
    JobsScreen #job-charts { grid-size: 2; height: 1fr; display: none; }
    JobsScreen.tall #jobs { max-height: 30%; }
    JobsScreen.tall #comparison { max-height: 20%; }
    JobsScreen.tall #job-detail { height: auto; max-height: 14; }
    JobsScreen.tall #job-charts { display: block; }
    """
    # From this many rows the selected job's own series are charted below its detail: a
    # workload's TPS against its target and its latency, a cleanup's rows/s and replica lag.
    TALL = 36

    def compose_body(self) -> ComposeResult:
        jobs: DataTable[str | Text] = DataTable(id="jobs", cursor_type="row")
        jobs.add_columns("#", "Job", "State", "Progress", "Rate", "ETA", "Time")
        yield jobs
        yield DataTable(id="comparison", cursor_type="row")
        yield Static(
            "no jobs yet: actions start them (w workload, c cleanup, b rebalance)",
            id="job-detail",
        )
        with Grid(id="job-charts"):
            yield TimeChart("rate", id="job-rate-chart")
            yield TimeChart("latency", id="job-second-chart")

    def on_mount(self) -> None:
        self.set_class(self.app.size.height >= self.TALL, "tall")

    def on_resize(self) -> None:
        self.set_class(self.app.size.height >= self.TALL, "tall")
        self.refresh_view()

    charted_row: str | None = None  # the row the charts were drawn for

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "jobs":
            self._show_detail()
            # Each update rebuilds the rows and puts the cursor back, which highlights the
            # same row again: the charts, drawn by that update, are redrawn only for another.
            if self.has_class("tall") and event.row_key.value != self.charted_row:
                self._draw_charts()

    def selected(self) -> JobSnapshot | None:
        table: DataTable[str | Text] = self.query_one("#jobs", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((j for j in self.state.job_snapshots if str(j.id) == key), None)

    newest_seen = 0  # the highest job id shown so far: a newer one gets selected

    def update_body(self) -> None:
        table: DataTable[str | Text] = self.query_one("#jobs", DataTable)
        # The selection follows its job, not its row; a job started since the last update is
        # selected, so `x` stops what was just started.
        current = self.selected()
        selected_id = current.id if current is not None else None
        newest = max((j.id for j in self.state.job_snapshots), default=0)
        if newest > self.newest_seen:
            selected_id, self.newest_seen = newest, newest
        table.clear()
        now = self.state.latest.at if self.state.latest else None
        for job in self.state.job_snapshots:
            table.add_row(
                str(job.id) + (f" ({job.server_job})" if job.server_job else ""),
                job_name(job)[:28],
                Text(*state_shown(job)),
                job_progress(job),
                rate_text(job),
                fmt.eta(job.eta_s),
                fmt.eta(job.elapsed_s(now)),
                key=str(job.id),
            )
        if table.row_count:
            ids = [j.id for j in self.state.job_snapshots]
            row = ids.index(selected_id) if selected_id in ids else table.row_count - 1
            table.move_cursor(row=row)
        self._show_detail()
        self._show_comparison()
        if self.has_class("tall"):
            self._draw_charts()

    def _show_detail(self) -> None:
        job = self.selected()
        detail = self.query_one("#job-detail", Static)
        if job is None:
            return
        text = Text()
        server = f" ({job.server_job})" if job.server_job else ""
        text.append(
            f"job {job.id}{server}: {job_name(job)} on {job.cluster} ", style="bold"
        )
        text.append(job.state, style=STATE_STYLE.get(job.state, "cyan"))
        if job.paused and job.running:
            text.append(" (paused by the operator: P resumes)", style="bold yellow")
        total = f"/{fmt.count(job.total)}" if job.total else ""
        text.append(f" · {fmt.count(job.done)}{total} {job.unit}")
        lag = job.series_named("lag_s")
        if lag:  # a cleanup: the replica lag it is throttled on, and how often it waited
            text.append(f" · replica lag {fmt.seconds(lag[-1][1])}")
        pauses = job.series_named("pauses")
        if pauses:
            text.append(f" · {int(pauses[-1][1])} pauses")
        text.append("\n")
        if job.settings and job.running:
            text.append(
                "settings (e changes): "
                + ", ".join(f"{k} {v}" for k, v in job.settings) + "\n",
                style="dim",
            )
        if job.current and job.running:
            text.append(f"now: {job.current}\n", style="cyan")
        if job.error:
            text.append(f"error: {job.error}\n", style="bold red")
        for label, value in job.summary:
            text.append(f"{label}: ", style="bold")
            text.append(f"{value}  ")
        if job.summary:
            text.append("\n")
        if job.state == FINISHED and job.kind == "cleanup" and is_dry_run(job):
            text.append("c: the same cleanup for real (the form keeps these values, dry run "
                        "off)\n", style="bold cyan")
        for line in job.log[-8:]:
            text.append(line + "\n", style="dim")
        detail.update(text)

    def _draw_charts(self) -> None:
        """The selected job's series, two by two: its rate, then its latency or lag."""
        table: DataTable[str | Text] = self.query_one("#jobs", DataTable)
        self.charted_row = (
            str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
            if table.row_count else None
        )
        job = self.selected()
        rate = self.query_one("#job-rate-chart", TimeChart)
        second = self.query_one("#job-second-chart", TimeChart)
        if job is None:
            rate.draw([])
            second.draw([])
            return
        named = dict(job.series)
        for chart, choices in ((rate, RATE_SERIES), (second, SECOND_SERIES)):
            for title, unit, names in choices:
                drawn = [(name, named[name]) for name in names if named.get(name)]
                if drawn:
                    chart.chart_title = f"job {job.id}: {title}"
                    chart.unit = unit or (f"{job.unit}/s" if job.unit else "")
                    chart.draw(drawn)
                    break
            else:
                chart.chart_title = f"job {job.id}"
                chart.unit = ""
                chart.draw([])

    def _show_comparison(self) -> None:
        table: DataTable[str | Text] = self.query_one("#comparison", DataTable)
        groups: dict[str, list[JobSnapshot]] = {}
        for job in self.state.job_snapshots:
            if job.group:
                groups.setdefault(job.group, []).append(job)
        table.clear(columns=True)
        rows = next((g for g in reversed(list(groups.values())) if len(g) > 1), None)
        if rows is None:
            table.display = False
            return
        table.display = True
        labels: list[str] = []
        for job in rows:
            for label, _ in job.summary:
                if label not in labels:
                    labels.append(label)
        table.add_columns("Method", "State", *labels)
        for job in rows:
            values = dict(job.summary)
            # The method alone: the table and retention are in each job's own line, and the
            # results must fit beside it in 80 columns.
            method = job.title.split(" ", 1)[0]
            table.add_row(method, job.state, *(values.get(label, fmt.DASH) for label in labels))
        table.styles.height = min(8, len(rows) + 1)  # header + rows; auto height lags a rebuild

    def action_stop_job(self) -> None:
        job = self.selected()
        running = [j for j in self.state.job_snapshots if j.running]
        if (job is None or not job.running) and len(running) == 1:
            job = running[0]  # the only one there is to stop
        if job is None or not job.running:
            self.notify(
                "no running job selected" if running else "no job is running",
                severity="warning",
            )
            return
        live = self.state.jobs.get(job.id)
        if live is not None:
            live.cancel()
            self.notify(f"stopping job {job.id}")

    def _running_selected(self) -> JobSnapshot | None:
        job = self.selected()
        running = [j for j in self.state.job_snapshots if j.running]
        if (job is None or not job.running) and len(running) == 1:
            job = running[0]
        if job is None or not job.running:
            self.notify("no running job selected", severity="warning")
            return None
        return job

    def action_pause_job(self) -> None:
        job = self._running_selected()
        live = self.state.jobs.get(job.id) if job is not None else None
        if job is None or live is None:
            return
        if not job.holds:
            self.notify(f"job {job.id} ({job.kind}) cannot be held: only a cleanup holds, at a "
                        "chunk boundary (x stops it)", severity="warning")
            return
        if job.paused:
            live.resume()
            self.notify(f"job {job.id} resumes")
        else:
            live.pause()
            self.notify(f"job {job.id} holds at its next chunk boundary")

    def action_change_job(self) -> None:
        job = self._running_selected()
        if job is None:
            return
        if not job.settings:
            self.notify(f"job {job.id} ({job.kind}) takes no live changes", severity="warning")
            return

        def apply(changes: dict[str, str] | None) -> None:
            live = self.state.jobs.get(job.id)
            if not changes or live is None:
                return
            for key, value in changes.items():
                try:
                    self.notify(live.change(key, value))
                except Exception as exc:  # a bad value: said, the job unchanged
                    self.notify(" ".join(str(exc).split()), severity="error")

        self.app.push_screen(JobSettingsForm(job.id, job.settings), apply)


def state_shown(job: JobSnapshot) -> tuple[str, str]:
    """The state and its style: a running job the operator holds reads `held`."""
    if job.running and job.paused:
        return "held", "bold yellow"
    return job.state, STATE_STYLE.get(job.state, "cyan")


def job_name(job: JobSnapshot) -> str:
    """Kind and title, the kind once: a title may already start with it (`compare ...`)."""
    return job.title if job.title.split(" ", 1)[0] == job.kind else f"{job.kind} {job.title}"


def rate_text(job: JobSnapshot) -> str:
    """The job's rate in its own unit: a workload's is transactions per second (its last whole
    second while it runs, the run's average once it ended), whatever its progress counts."""
    if job.kind == "workload":
        achieved = job.series_named("achieved")
        if job.running and achieved:
            return f"{fmt.rate(achieved[-1][1])} tps"
        tps = dict(job.summary).get("tps")
        if tps:
            return f"{tps.split('/')[0]} tps"
        return fmt.DASH
    if is_dry_run(job) or (job.running and job.paused):
        return fmt.DASH  # it sent nothing, or holds: no rate to show
    # A finished job's own figure, as its summary says it (the average over the whole job,
    # setup included, would disagree with the summary beside it).
    said = dict(job.summary).get(f"{job.unit}/s", "").replace(",", "")
    if not job.running and said.replace(".", "", 1).isdigit():
        return f"{fmt.rate(float(said))} {job.unit}/s"
    return f"{fmt.rate(job.rate)} {job.unit}/s" if job.rate else fmt.DASH
