"""Screen 5: fragmentation, reclaimable space and dead tuples of every watched table, with the
figure before and after its last optimize or cleanup."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import DataTable, Static

from clustertop.collectors.samples import TableSample
from clustertop.tui import format as fmt
from clustertop.tui.alerts import ratio_level
from clustertop.tui.screens.base import MonitorScreen, styled
from clustertop.tui.widgets.charts import TimeChart


class TablesScreen(MonitorScreen):
    SCREEN_TITLE = "5 Tables"
    DEFAULT_CSS = """
    TablesScreen #tables { height: 1fr; }
    TablesScreen.tall #tables { height: auto; max-height: 50%; }
    TablesScreen #table-detail { height: auto; max-height: 4; padding: 0 1; color: $text-muted; }
    TablesScreen #table-charts { grid-size: 2; height: 1fr; display: none; }
    TablesScreen.tall #table-charts { display: block; }
    """
    # From this many rows the room below shows the selected table's rows and reclaimable
    # space over time: a cleanup's effect as it happens.
    TALL = 36

    # Below this width the Alloc column gives way (the detail line says it) so that dead
    # tuples and the last vacuum fit beside the fragmentation at 80 columns.
    WIDE_FROM = 100
    wide: bool | None = None  # the column set now built

    def compose_body(self) -> ComposeResult:
        yield DataTable(id="tables", cursor_type="row", zebra_stripes=True)
        yield Static("", id="table-detail")
        with Grid(id="table-charts"):
            yield TimeChart("rows", id="rows-chart")
            yield TimeChart("reclaimable", "MiB", id="reclaim-chart")

    def _columns(self) -> tuple[str, ...]:
        wide = ("Alloc",) if self.wide else ()
        return ("Table", "Rows", *wide, "Reclaim", "Frag", "Was>now", "Dead", "Vacuumed")

    def on_mount(self) -> None:
        self.set_class(self.app.size.height >= self.TALL, "tall")

    def on_resize(self) -> None:
        self.set_class(self.app.size.height >= self.TALL, "tall")
        self.refresh_view()

    charted_row: str | None = None  # the row the charts were drawn for

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()
        # Each update rebuilds the rows and puts the cursor back, which highlights the same
        # row again: the charts, drawn by that update, are redrawn only for another row.
        if self.has_class("tall") and event.row_key.value != self.charted_row:
            self._draw_charts()

    def _rows(self) -> list[tuple[str, TableSample]]:
        """Each watched table once per cluster, as its primary reports it."""
        seen: set[str] = set()
        rows = []
        for node in self.state.nodes():
            if node.detail is None or node.role in ("replica", "standby"):
                continue
            for t in node.detail.tables:
                key = f"{node.cluster}/{t.name}"
                if key not in seen:
                    seen.add(key)
                    rows.append((node.cluster, t))
        return rows

    def update_body(self) -> None:
        table: DataTable[str | Text] = self.query_one("#tables", DataTable)
        wide = self.size.width >= self.WIDE_FROM
        if wide != self.wide:
            self.wide = wide
            table.clear(columns=True)
            table.add_columns(*self._columns())
        blank = ("",) * (len(self._columns()) - 2)
        cursor = table.cursor_row
        table.clear()
        rows = self._rows()
        now = self.state.latest.at if self.state.latest else None
        for node in self.state.nodes():
            note = fmt.detail_note(node.detail, now) if node.role not in ("replica", "standby") else ""
            if note:
                table.add_row(f"{node.key} tables", Text(note, style="yellow"), *blank,
                              key=f"{node.key}/note")
        if not rows and table.row_count == 0:
            table.add_row("waiting for the first table reading", "", *blank)
        # Tables sit under their cluster's name when several clusters' are shown, each by its
        # short name where that is unique: at 80 columns the figures need the room (the detail
        # line names it in full).
        several = len({cluster for cluster, _t in rows}) > 1
        shown_cluster = None
        for cluster, t in rows:
            if several and cluster != shown_cluster:
                shown_cluster = cluster
                table.add_row(Text(cluster, style="bold"), "", *blank, key=f"{cluster}/")
            same_name = [o for c, o in rows if c == cluster and o.table == t.table]
            label = t.table if len(same_name) == 1 else t.name
            label = f"  {label}" if several else label
            warn = self.state.alerts.thresholds(cluster).fragmentation_warn_ratio
            if t.error:
                table.add_row(label, Text(t.error, style="red"), *blank, key=f"{cluster}/{t.name}")
                continue
            change = self.state.frag_change(cluster, t.name)
            alloc = (fmt.size(t.allocated_bytes),) if self.wide else ()
            table.add_row(
                label,
                fmt.count(t.rows) + ("" if t.rows_exact else "~"),
                *alloc,
                fmt.size(t.reclaimable_bytes),
                styled(fmt.ratio(t.fragmentation_ratio), ratio_level(t.fragmentation_ratio, warn))
                if t.fragmentation_ratio is not None
                else Text("?", style="yellow"),
                f"{change[0]:.0%}>{change[1]:.0%}" if change else fmt.DASH,
                fmt.count(t.dead_tuples),
                fmt.ago(latest_vacuum(t), self._node_clock(cluster)),
                key=f"{cluster}/{t.name}",
            )
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        self._show_detail()
        if self.has_class("tall"):
            self._draw_charts()

    def _selected(self) -> tuple[str, TableSample] | None:
        table: DataTable[str | Text] = self.query_one("#tables", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next(((c, t) for c, t in self._rows() if f"{c}/{t.name}" == key), None)

    def _charted(self) -> list[tuple[str, TableSample]]:
        """The selected table; on a cluster's row (or a note), that cluster's tables."""
        selected = self._selected()
        if selected is not None:
            return [selected]
        table: DataTable[str | Text] = self.query_one("#tables", DataTable)
        rows = self._rows()
        if table.row_count == 0 or not rows:
            return []
        key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        cluster = key.partition("/")[0]
        chosen = [(c, t) for c, t in rows if c == cluster]
        return chosen or [(c, t) for c, t in rows if c == rows[0][0]]

    def _draw_charts(self) -> None:
        """Each charted table as its primary's table readings saw it, one point a reading."""
        table: DataTable[str | Text] = self.query_one("#tables", DataTable)
        self.charted_row = (
            str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
            if table.row_count else None
        )
        rows_series: list[tuple[str, list[tuple[float, float | None]]]] = []
        reclaim_series: list[tuple[str, list[tuple[float, float | None]]]] = []
        for cluster, chosen in self._charted():
            rows: list[tuple[float, float | None]] = []
            reclaim: list[tuple[float, float | None]] = []
            for node in self.state.nodes():
                if node.cluster != cluster or node.role in ("replica", "standby"):
                    continue
                seen: set[float] = set()
                for sample in self.state.series(node.key):
                    detail = sample.detail
                    if detail is None or detail.at in seen:
                        continue
                    seen.add(detail.at)
                    t = next((t for t in detail.tables if t.name == chosen.name), None)
                    if t is not None:
                        rows.append((detail.at, float(t.rows) if t.rows is not None else None))
                        reclaim.append((detail.at, t.reclaimable_bytes / 2**20
                                        if t.reclaimable_bytes is not None else None))
                break
            rows_series.append((chosen.table, rows))
            reclaim_series.append((chosen.table, reclaim))
        self.query_one("#rows-chart", TimeChart).draw(rows_series)
        self.query_one("#reclaim-chart", TimeChart).draw(reclaim_series)

    def _cluster_summary(self) -> str:
        """On a cluster's own row: its tables' totals."""
        table: DataTable[str | Text] = self.query_one("#tables", DataTable)
        if table.row_count == 0:
            return ""
        key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        cluster = key[:-1] if key.endswith("/") else None
        tables = [t for c, t in self._rows() if c == cluster]
        if not tables:
            return ""
        reclaim = [t.reclaimable_bytes for t in tables]
        alloc = [t.allocated_bytes for t in tables]
        known = None not in reclaim and None not in alloc
        total = (f"{fmt.size(sum(r or 0 for r in reclaim))} reclaimable of "
                 f"{fmt.size(sum(a or 0 for a in alloc))}") if known else "reclaimable space ?"
        return f"{cluster}: {len(tables)} watched tables · {total}"

    def _node_clock(self, cluster: str) -> float | None:
        """When the cluster's primary was read: the vacuum's age is as of that reading."""
        for node in self.state.nodes():
            if node.cluster == cluster and node.detail is not None:
                return node.detail.at
        return None

    def _show_detail(self) -> None:
        detail = self.query_one("#table-detail", Static)
        match = self._selected()
        if match is None:
            detail.update(self._cluster_summary())
            return
        _cluster, t = match
        parts = [f"{t.name}: measured by {t.method}",
                 f"allocated {fmt.size(t.allocated_bytes)}"]
        if t.stats_updated:
            parts.append(f"InnoDB statistics of {t.stats_updated}")
        parts.append(f"data {fmt.size(t.data_bytes)} + index {fmt.size(t.index_bytes)}")
        detail.update(" · ".join(parts))


def latest_vacuum(t: TableSample) -> str | None:
    """The later of the manual and the automatic vacuum (ISO stamps of one server sort)."""
    stamps = [v for v in (t.last_vacuum, t.last_autovacuum) if v]
    return max(stamps) if stamps else None
