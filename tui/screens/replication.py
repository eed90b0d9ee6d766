"""Screen 2: every replica and standby, its lag over time, WAL stages and thread errors."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable, Static

from clustertop.collectors.samples import NodeSample, ReplicationSample, WalSenderSample
from clustertop.tui import format as fmt
from clustertop.tui.alerts import CRIT, lag_level
from clustertop.tui.screens.base import MonitorScreen, styled
from clustertop.tui.widgets.charts import TimeChart

# A lag chart spans at least this many seconds: 0.05 s of heartbeat noise stays flat, a 1 s
# spike fills it.
LAG_CHART_FLOOR_S = 1.0


def replica_rows(nodes: list[NodeSample]) -> list[tuple[NodeSample, ReplicationSample]]:
    return [(n, r) for n in nodes for r in n.replication]


def sender_for(nodes: list[NodeSample], replica: NodeSample) -> WalSenderSample | None:
    """The primary-side view of a standby: pg_stat_replication names it after the standby."""
    for node in nodes:
        if node.cluster != replica.cluster:
            continue
        for sender in node.senders:
            if sender.application_name in (replica.node, replica.address):
                return sender
    return None


class ReplicationScreen(MonitorScreen):
    SCREEN_TITLE = "2 Replication"
    DEFAULT_CSS = """
    ReplicationScreen #replicas { height: auto; max-height: 8; }
    ReplicationScreen #rep-charts { height: 1fr; }
    ReplicationScreen #rep-detail { height: auto; max-height: 7; padding: 0 1; }
    """

    def compose_body(self) -> ComposeResult:
        table: DataTable[str | Text] = DataTable(id="replicas", cursor_type="row")
        table.add_columns("Replica", "From", "IO", "SQL", "HB lag", "Eng lag", "Catch-up")
        yield table
        with Horizontal(id="rep-charts"):
            yield TimeChart("lag: heartbeat vs engine", "s", id="lag-chart")
        yield Static("", id="rep-detail")

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._draw_selected()

    def update_body(self) -> None:
        table: DataTable[str | Text] = self.query_one("#replicas", DataTable)
        cursor = table.cursor_row
        table.clear()
        nodes = self.state.nodes()
        for node, rep in replica_rows(nodes):
            t = self.state.alerts.thresholds(node.cluster)
            hb = (
                styled(
                    fmt.lag(rep.heartbeat_lag_s, rep.heartbeat_lower_bound),
                    lag_level(rep.heartbeat_lag_s, t),
                )
                if rep.heartbeat_lag_s is not None
                else Text(fmt.DASH)
            )
            engine = (
                styled("?", CRIT)
                if rep.engine_lag_s is None
                else styled(fmt.seconds(rep.engine_lag_s), lag_level(rep.engine_lag_s, t))
            )
            catch = fmt.DASH if rep.catchup_rate is None else f"{rep.catchup_rate:+.2f}/s"
            table.add_row(
                node.key,
                rep.source or fmt.DASH,
                styled(
                    rep.io_running or "-", "ok" if rep.io_running in ("Yes", "streaming") else CRIT
                ),
                styled(
                    rep.sql_running or "-",
                    "ok" if rep.sql_running in ("Yes", "replaying") else CRIT,
                ),
                hb,
                engine,
                catch,
                key=f"{node.key}|{rep.channel}",
            )
        for node in nodes:
            if not node.up and node.role in ("replica", "standby"):
                table.add_row(
                    node.key, fmt.DASH, styled("DOWN", CRIT), "", "", "", "", key=f"{node.key}|down"
                )
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        self._draw_selected()

    def _selected(self) -> tuple[NodeSample, ReplicationSample | None] | None:
        table: DataTable[str | Text] = self.query_one("#replicas", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or ""
        node_key, _, channel = key.partition("|")
        node = next((n for n in self.state.nodes() if n.key == node_key), None)
        if node is None:
            return None
        rep = next((r for r in node.replication if r.channel == channel), None)
        return node, rep

    def _draw_selected(self) -> None:
        chart = self.query_one("#lag-chart", TimeChart)
        detail = self.query_one("#rep-detail", Static)
        selected = self._selected()
        if selected is None:
            chart.chart_title = "replica lag"  # not the last replica's, which is gone
            chart.draw([])
            detail.update(
                f"no replica or standby matches the filter '{self.state.filter}' (/ changes it)"
                if self.state.filter else "no replicas or standbys in the watched clusters"
            )
            return
        node, rep = selected
        history = self.state.series(node.key)

        def points(attr: str) -> list[tuple[float, float | None]]:
            out = []
            for h in history:
                match = next((r for r in h.replication if rep and r.channel == rep.channel), None)
                out.append((h.at, getattr(match, attr) if match else None))
            return out

        t = self.state.alerts.thresholds(node.cluster)
        chart.chart_title = f"{node.key} lag"
        chart.draw(
            [("heartbeat", points("heartbeat_lag_s")), ("engine", points("engine_lag_s"))],
            horizontal=t.lag_crit_s,
            floor=LAG_CHART_FLOOR_S,
        )
        detail.update(self._detail_text(node, rep))

    def _detail_text(self, node: NodeSample, rep: ReplicationSample | None) -> Text:
        text = Text()
        if not node.up or rep is None:
            text.append(f"{node.key} DOWN: {node.down_text}", style="bold red")
            return text
        text.append(f"{node.key} from {rep.source} ", style="bold")
        text.append(f"io {rep.io_running} · sql {rep.sql_running} · position {rep.position}\n")
        if rep.heartbeat_error:
            text.append(f"heartbeat: {rep.heartbeat_error}\n", style="yellow")
        for label, err in (("IO error", rep.last_io_error), ("SQL error", rep.last_sql_error)):
            if err:
                text.append(f"{label}: {err}\n", style="bold red")
        sender = sender_for(self.state.nodes(), node)
        if sender is not None:
            text.append(
                f"WAL behind: sent {fmt.size(sender.sent_bytes_behind)} · write "
                f"{fmt.size(sender.write_bytes_behind)} · flush {fmt.size(sender.flush_bytes_behind)}"
                f" · replay {fmt.size(sender.replay_bytes_behind)}\n"
                f"lag: write {fmt.seconds(sender.write_lag_s)} · flush "
                f"{fmt.seconds(sender.flush_lag_s)} · replay {fmt.seconds(sender.replay_lag_s)}"
                f" · {sender.state} {sender.sync_state}\n"
            )
        slots = [s for n in self.state.nodes() if n.cluster == node.cluster for s in n.slots]
        for slot in slots:
            text.append(
                f"slot {slot.name} ({slot.slot_type}, {'active' if slot.active else 'inactive'})"
                f" retains {fmt.size(slot.retained_wal_bytes)}\n"
            )
        return text
