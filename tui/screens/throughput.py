"""Screen 3: TPS and QPS per node over time, rows per second, the server's top statements, and
a running workload's achieved-vs-target TPS and latency percentiles."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid
from textual.events import Resize
from textual.widgets import DataTable, Static

from clustertop.actions.jobs import JobSnapshot
from clustertop.collectors.samples import NodeSample
from clustertop.tui import format as fmt
from clustertop.tui.screens.base import MonitorScreen
from clustertop.tui.widgets.charts import TimeChart


class ThroughputScreen(MonitorScreen):
    SCREEN_TITLE = "3 Throughput"
    # The charts sit in a two-column grid: hidden ones leave no hole. A running workload's
    # charts take the place of the per-node ones when the terminal is too short for both.
    DEFAULT_CSS = """
    ThroughputScreen #charts { grid-size: 2; height: 1fr; min-height: 7; }
    ThroughputScreen #rates { height: auto; max-height: 6; }
    ThroughputScreen #statements { height: auto; max-height: 5; }
    ThroughputScreen #kinds { height: auto; max-height: 6; }
    ThroughputScreen #rates-note { height: auto; max-height: 2; padding: 0 1; }
    """
    TALL = 36

    def compose_body(self) -> ComposeResult:
        with Grid(id="charts"):
            yield TimeChart("TPS per node", id="tps-chart")
            yield TimeChart("QPS per node", id="qps-chart")
            yield TimeChart("workload TPS: achieved vs target", id="workload-tps")
            yield TimeChart("workload latency", "ms", id="workload-latency")
        # A running workload's transaction kinds, worst p99 first (over the run so far).
        kinds: DataTable[str | Text] = DataTable(id="kinds", cursor_type="none")
        kinds.add_columns("Workload kind", "Tx", "Tx/s", "p50 ms", "p99 ms", "Errors")
        kinds.display = False
        yield kinds
        rates: DataTable[str | Text] = DataTable(id="rates", cursor_type="row")
        rates.add_columns("Node", "TPS", "QPS", "Read/s", "Ins/s", "Upd/s", "Del/s", "Log/s")
        yield rates
        yield Static(
            Text("replica rows/s: its applier's, when applied (a big delete seconds after "
                 "the primary's; our heartbeat too); PostgreSQL standbys count none",
                 style="dim"),
            id="rates-note",
        )
        statements: DataTable[str | Text] = DataTable(id="statements", cursor_type="row")
        statements.add_columns("Total ms", "Mean ms", "Calls", "Statement")
        yield statements

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "rates":
            self._draw_statements()

    def update_body(self) -> None:
        nodes = self.state.nodes()
        self._draw_charts(nodes)
        table: DataTable[str | Text] = self.query_one("#rates", DataTable)
        cursor = table.cursor_row
        table.clear()
        for n in nodes:
            t = n.throughput
            if not n.up:
                table.add_row(
                    Text(n.key, style="red"),
                    Text("DOWN", style="bold red"),
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    key=n.key,
                )
                continue
            table.add_row(
                n.key,
                fmt.rate(t.tps if t else None),
                fmt.rate(t.qps if t else None),
                fmt.rate(t.rows_read_ps if t else None),
                fmt.rate(t.rows_inserted_ps if t else None),
                fmt.rate(t.rows_updated_ps if t else None),
                fmt.rate(t.rows_deleted_ps if t else None),
                fmt.size(t.log_bytes_ps if t else None),
                key=n.key,
            )
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        self._draw_statements()
        self._draw_workload()

    def _draw_charts(self, nodes: list[NodeSample]) -> None:
        def series(attr: str) -> list[tuple[str, list[tuple[float, float | None]]]]:
            return [
                (
                    n.node if len({m.cluster for m in nodes}) == 1 else n.key,
                    [
                        (h.at, getattr(h.throughput, attr) if h.throughput else None)
                        for h in self.state.series(n.key)
                    ],
                )
                for n in nodes
            ]

        self.query_one("#tps-chart", TimeChart).draw(series("tps"))
        self.query_one("#qps-chart", TimeChart).draw(series("qps"))

    def _draw_statements(self) -> None:
        table: DataTable[str | Text] = self.query_one("#statements", DataTable)
        table.clear()
        rates: DataTable[str | Text] = self.query_one("#rates", DataTable)
        if rates.row_count == 0:
            return
        key = rates.coordinate_to_cell_key(rates.cursor_coordinate).row_key.value
        node = next((n for n in self.state.nodes() if n.key == key), None)
        detail = node.detail if node else None
        now = self.state.latest.at if self.state.latest else None
        note = fmt.detail_note(detail, now)
        if note:
            table.add_row("", "", "", Text(f"top statements {note}", style="yellow"))
        if detail is None or detail.statements is None:
            if not note:
                table.add_row("", "", "", "top statements: waiting for the first reading")
            return
        if not detail.statements.available:
            table.add_row(
                "", "", "", Text(f"not available: {detail.statements.reason}", style="yellow")
            )
            return
        for s in detail.statements.top:
            table.add_row(
                f"{s.total_ms:,.0f}",
                f"{s.mean_ms:,.2f}",
                fmt.count(s.calls),
                " ".join(s.text.split())[:200],
            )
        if detail.statements.monitoring_hidden:
            table.add_row("", "", "", Text(
                f"{detail.statements.monitoring_hidden} monitoring statements left out (system "
                "views, probes, the heartbeat: clustertop's and any monitor's)", style="dim"))

    def _workload(self) -> JobSnapshot | None:
        workloads = [j for j in self.state.job_snapshots if j.kind == "workload" and j.series]
        running = [j for j in workloads if j.running]
        candidates = running or workloads
        return candidates[-1] if candidates else None

    def on_resize(self, _event: Resize) -> None:
        self._draw_workload()

    def _draw_workload(self) -> None:
        job = self._workload()
        tall = self.app.size.height >= self.TALL
        for chart_id in ("#tps-chart", "#qps-chart"):
            self.query_one(chart_id).display = job is None or tall
        for chart_id in ("#workload-tps", "#workload-latency"):
            self.query_one(chart_id).display = job is not None
        self._draw_kinds(job)
        if job is None:
            return
        tps = self.query_one("#workload-tps", TimeChart)
        tps.chart_title = f"job {job.id} {job.title}: TPS"
        tps.draw(
            [
                (name, list(job.series_named(name)))
                for name in ("achieved", "target")
                if job.series_named(name)
            ]
        )
        latency = self.query_one("#workload-latency", TimeChart)
        latency.draw(
            [
                (name, list(job.series_named(name)))
                for name in ("p50_ms", "p95_ms", "p99_ms")
                if job.series_named(name)
            ]
        )

    def _draw_kinds(self, job: JobSnapshot | None) -> None:
        kinds: DataTable[str | Text] = self.query_one("#kinds", DataTable)
        rows = [r for r in (job.rows if job is not None else ()) if "kind" in r]
        kinds.display = bool(rows)
        kinds.clear()
        for row in rows:
            errors = int(row.get("errors") or 0)
            kinds.add_row(
                str(row["kind"]),
                fmt.count(row.get("tx")),
                fmt.rate(row.get("tx_per_s")),
                fmt.ms(row.get("p50_ms")),
                fmt.ms(row.get("p99_ms")),
                Text(str(errors), style="red") if errors else "0",
            )
