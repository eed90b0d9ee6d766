"""Screen 5: fragmentation, reclaimable space and dead tuples of every watched table, with the
figure before and after its last optimize or cleanup."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from clustertop.collectors.samples import TableSample
from clustertop.tui import format as fmt
from clustertop.tui.alerts import ratio_level
from clustertop.tui.screens.base import MonitorScreen, styled


class TablesScreen(MonitorScreen):
    SCREEN_TITLE = "5 Tables"
    DEFAULT_CSS = """
    TablesScreen #tables { height: 1fr; }
    TablesScreen #table-detail { height: auto; max-height: 4; padding: 0 1; color: $text-muted; }
    """

    def compose_body(self) -> ComposeResult:
        table: DataTable[str | Text] = DataTable(id="tables", cursor_type="row", zebra_stripes=True)
        table.add_columns(
            "Table", "Rows", "Alloc", "Reclaim", "Frag", "Before>after", "Dead", "Vacuumed"
        )
        yield table
        yield Static("", id="table-detail")

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_detail()

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
        cursor = table.cursor_row
        table.clear()
        rows = self._rows()
        now = self.state.latest.at if self.state.latest else None
        for node in self.state.nodes():
            note = fmt.detail_note(node.detail, now) if node.role not in ("replica", "standby") else ""
            if note:
                table.add_row(
                    f"{node.key} tables", Text(note, style="yellow"), "", "", "", "", "", "",
                    key=f"{node.key}/note",
                )
        if not rows and table.row_count == 0:
            table.add_row("waiting for the first table reading", "", "", "", "", "", "", "")
        # The cluster is named only when tables of several are shown: at 80 columns the
        # figures need the room.
        several = len({cluster for cluster, _t in rows}) > 1
        for cluster, t in rows:
            label = f"{cluster} {t.name}" if several else t.name
            warn = self.state.alerts.thresholds(cluster).fragmentation_warn_ratio
            if t.error:
                table.add_row(
                    label,
                    Text(t.error, style="red"),
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    key=f"{cluster}/{t.name}",
                )
                continue
            change = self.state.frag_change(cluster, t.name)
            table.add_row(
                label,
                fmt.count(t.rows) + ("" if t.rows_exact else "~"),
                fmt.size(t.allocated_bytes),
                fmt.size(t.reclaimable_bytes),
                styled(fmt.ratio(t.fragmentation_ratio), ratio_level(t.fragmentation_ratio, warn))
                if t.fragmentation_ratio is not None
                else Text("?", style="yellow"),
                f"{change[0]:.0%}>{change[1]:.0%}" if change else fmt.DASH,
                fmt.count(t.dead_tuples),
                (t.last_vacuum or t.last_autovacuum or fmt.DASH)[:16],
                key=f"{cluster}/{t.name}",
            )
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        self._show_detail()

    def _show_detail(self) -> None:
        table: DataTable[str | Text] = self.query_one("#tables", DataTable)
        detail = self.query_one("#table-detail", Static)
        if table.row_count == 0:
            detail.update("")
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        match = next(((c, t) for c, t in self._rows() if f"{c}/{t.name}" == key), None)
        if match is None:
            detail.update("")
            return
        _cluster, t = match
        parts = [f"{t.name}: measured by {t.method}"]
        if t.stats_updated:
            parts.append(f"InnoDB statistics of {t.stats_updated}")
        parts.append(f"data {fmt.size(t.data_bytes)} + index {fmt.size(t.index_bytes)}")
        detail.update(" · ".join(parts))
