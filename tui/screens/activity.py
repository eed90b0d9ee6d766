"""Screen 7: who is waiting on whom. Per node: the blocking chains as a tree (the root blocker
first, often idle in transaction, everyone queued behind it under it, with what each waits for
and for how long), the long operations with their progress, and every session worst first.
`k` cancels the selected session's statement, `K` ends the session (actions on, a y/n naming
it); `enter` on a waiting session jumps to its root blocker; `h` hides idle sessions."""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from clustertop.collectors.samples import NodeSample
from clustertop.collectors.sessions import SessionSample
from clustertop.tui import format as fmt
from clustertop.tui.screens.base import MonitorScreen

if TYPE_CHECKING:
    from clustertop.tui.app import ClustertopApp

SESSION_COLUMNS = (
    "Node", "Session", "User", "DB", "Client", "State", "Time", "Xact", "Waits for", "Statement"
)
CHAIN_COLUMNS = ("Chain", "Node", "User", "State", "Waits for", "Waited", "Xact", "Statement")


def session_key(node: NodeSample, session: SessionSample) -> str:
    return f"{node.key}#{session.id}"


def summary_line(node: NodeSample) -> Text:
    text = Text()
    text.append(f"{node.key}: ", style="bold")
    sessions = node.sessions
    if not node.up:
        text.append("DOWN", style="bold red")
        return text
    if sessions is None:
        text.append("sessions not read")
        return text
    active = sum(1 for s in sessions.sessions if not s.idle and not s.idle_in_transaction)
    idle_in_xact = sum(1 for s in sessions.sessions if s.idle_in_transaction)
    text.append(f"{sessions.total} sessions")
    if sessions.capped:
        text.append(f" (the worst {len(sessions.sessions)} read)", style="yellow")
    text.append(f", {active} active, {idle_in_xact} idle in transaction, ")
    blocked = sessions.blocked
    text.append(f"{blocked} blocked", style="bold red" if blocked else "")
    text.append(", oldest transaction ")
    if sessions.oldest_xact_s is None:
        text.append("none open")
    else:
        text.append(f"{fmt.seconds(sessions.oldest_xact_s)} (session {sessions.oldest_xact_session})")
    for note in sessions.notes:
        text.append(f"\n  {note}", style="yellow")
    return text


class ActivityScreen(MonitorScreen):
    SCREEN_NAME = "Activity"
    SCREEN_TITLE = "7 Activity"
    BINDINGS = [
        Binding("h", "toggle_idle", "Idle", id="toggle-idle", tooltip="hide / show idle sessions"),
        Binding(
            "k", "end_session(True)", "Cancel query", id="cancel-query",
            tooltip="cancel the selected session's statement (actions on; asks first)",
        ),
        Binding(
            "K", "end_session(False)", "End session", id="end-session",
            tooltip="end the selected session (actions on; asks first)",
        ),
        Binding(
            "enter", "root_blocker", "Root blocker", id="root-blocker", show=False,
            tooltip="on a waiting session: jump to the root of its chain",
        ),
    ]
    DEFAULT_CSS = """
    ActivityScreen #activity-summary { height: auto; max-height: 4; padding: 0 1; }
    ActivityScreen #chains { height: auto; max-height: 8; }
    ActivityScreen #progress { height: auto; max-height: 3; padding: 0 1; }
    ActivityScreen #sessions { height: 1fr; min-height: 6; }
    """
    hide_idle = False

    def __init__(self) -> None:
        super().__init__()
        # (node, session, operation, phase) -> (done, when): the rate of each long operation.
        self._progress_seen: dict[tuple[str, int, str, str | None], tuple[float, float]] = {}
        self._rates: dict[tuple[str, int, str, str | None], float] = {}

    def compose_body(self) -> ComposeResult:
        yield Static("", id="activity-summary")
        chains: DataTable[str | Text] = DataTable(id="chains", cursor_type="row")
        chains.add_columns(*CHAIN_COLUMNS)
        yield chains
        yield Static("", id="progress")
        table: DataTable[str | Text] = DataTable(id="sessions", cursor_type="row", zebra_stripes=True)
        table.add_columns(*SESSION_COLUMNS)
        yield table

    def update_body(self) -> None:
        nodes = self.state.nodes()
        summary = Text()
        for node in nodes:
            if node.sessions is None and node.up:
                continue  # not read (yet): nothing to say
            if summary:
                summary.append("\n")
            summary.append_text(summary_line(node))
        self.query_one("#activity-summary", Static).update(summary)
        self._draw_chains(nodes)
        self._draw_progress(nodes)
        self._draw_sessions(nodes)

    def _draw_chains(self, nodes: list[NodeSample]) -> None:
        table: DataTable[str | Text] = self.query_one("#chains", DataTable)
        selected = self._selected_key(table)
        table.clear()
        for node in nodes:
            if node.sessions is None:
                continue
            for entry in node.sessions.chains:
                s = entry.session
                mark = "  " * entry.depth + ("└ " if entry.depth else "")
                style = "bold red" if entry.depth == 0 else ""
                table.add_row(
                    Text(f"{mark}{s.id}{' (clustertop)' if s.own else ''}", style=style),
                    node.key,
                    s.user or fmt.DASH,
                    s.state or fmt.DASH,
                    s.lock or ("blocks the sessions below" if entry.depth == 0 else fmt.DASH),
                    fmt.seconds(s.wait_s) if entry.depth else fmt.DASH,
                    fmt.seconds(s.xact_s),
                    s.statement or fmt.DASH,
                    key=session_key(node, s),
                )
        if table.row_count == 0:
            table.add_row("no session waits on a lock", *([""] * (len(CHAIN_COLUMNS) - 1)))
        self._restore(table, selected)

    def _draw_progress(self, nodes: list[NodeSample]) -> None:
        text = Text()
        now = time.monotonic()
        seen: set[tuple[str, int, str, str | None]] = set()
        for node in nodes:
            if node.sessions is None:
                continue
            for p in node.sessions.progress:
                key = (node.key, p.session_id, p.operation, p.phase)
                seen.add(key)
                rate = self._rate(key, p.done, now)
                if text:
                    text.append("\n")
                pct = f"{p.fraction:.0%}" if p.fraction is not None else "?"
                text.append(f"{node.key} session {p.session_id} ", style="bold")
                text.append(f"{p.operation}{' ' + p.target if p.target else ''}: ")
                text.append(pct, style="cyan")
                done = fmt.count(p.done)
                total = fmt.count(p.total) if p.total else "?"
                text.append(f" ({done}/{total} {p.unit})")
                if p.phase:
                    text.append(f" · {p.phase}")
                if rate is not None:
                    text.append(f" · {fmt.rate(rate)} {p.unit}/s")
        for gone in set(self._progress_seen) - seen:
            self._progress_seen.pop(gone, None)
            self._rates.pop(gone, None)
        widget = self.query_one("#progress", Static)
        widget.display = bool(text)
        widget.update(text)

    def _rate(
        self, key: tuple[str, int, str, str | None], done: float | None, now: float
    ) -> float | None:
        if done is None:
            return None
        previous = self._progress_seen.get(key)
        if previous is not None and done != previous[0] and now > previous[1]:
            self._rates[key] = (done - previous[0]) / (now - previous[1])
        if previous is None or done != previous[0]:
            self._progress_seen[key] = (done, now)
        return self._rates.get(key)

    def _draw_sessions(self, nodes: list[NodeSample]) -> None:
        table: DataTable[str | Text] = self.query_one("#sessions", DataTable)
        selected = self._selected_key(table)
        table.clear()
        for node in nodes:
            if node.sessions is None:
                continue
            for s in node.sessions.sessions:
                if self.hide_idle and s.idle:
                    continue
                waits = s.lock or s.wait or fmt.DASH
                table.add_row(
                    node.key,
                    Text(f"{s.id}{' (clustertop)' if s.own else ''}",
                         style="dim" if s.own else ("bold red" if s.blocked_by else "")),
                    s.user or fmt.DASH,
                    s.database or fmt.DASH,
                    s.client or fmt.DASH,
                    s.state or fmt.DASH,
                    fmt.seconds(s.state_s),
                    fmt.seconds(s.xact_s),
                    waits,
                    s.statement or fmt.DASH,
                    key=session_key(node, s),
                )
        if table.row_count == 0:
            if not nodes and self.state.filter:
                empty = f"no node matches the filter '{self.state.filter}' (/ changes it)"
            elif all(n.sessions is None for n in nodes):
                empty = "no sessions read yet"
            else:
                empty = "no sessions" + (" but idle ones (hidden)" if self.hide_idle else "")
            table.add_row(empty, *([""] * (len(SESSION_COLUMNS) - 1)))
        self._restore(table, selected)

    @staticmethod
    def _selected_key(table: DataTable[str | Text]) -> str | None:
        if not table.row_count:
            return None
        try:
            value = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # no row under the cursor
            return None
        return str(value) if value is not None else None

    @staticmethod
    def _restore(table: DataTable[str | Text], key: str | None) -> None:
        """The selection follows its session, not its row, across redraws."""
        if key is None:
            return
        with contextlib.suppress(Exception):  # the session is gone
            table.move_cursor(row=table.get_row_index(key))

    def selected(self) -> tuple[NodeSample, SessionSample] | None:
        """The session under the cursor of the focused table (the sessions table otherwise)."""
        focused = self.focused
        table: DataTable[str | Text] = (
            focused if isinstance(focused, DataTable) else self.query_one("#sessions", DataTable)
        )
        key = self._selected_key(table)
        if key is None or "#" not in key:
            return None
        node_key, _, session_id = key.rpartition("#")
        node = next((n for n in self.state.nodes() if n.key == node_key), None)
        if node is None or node.sessions is None:
            return None
        session = node.sessions.session(int(session_id))
        return (node, session) if session is not None else None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """enter on a table row (the table takes enter before the screen's binding)."""
        event.stop()
        self.action_root_blocker()

    def action_toggle_idle(self) -> None:
        self.hide_idle = not self.hide_idle
        self.notify("idle sessions hidden" if self.hide_idle else "idle sessions shown")
        self.update_body()

    def action_root_blocker(self) -> None:
        found = self.selected()
        if found is None:
            return
        node, session = found
        assert node.sessions is not None
        root = node.sessions.root_of(session.id)
        if root is None or root.id == session.id:
            self.notify(f"session {session.id} waits on no one")
            return
        table: DataTable[str | Text] = self.query_one("#sessions", DataTable)
        if self.hide_idle:  # the root is often idle in transaction: never hidden then
            self.hide_idle = False
            self._draw_sessions(self.state.nodes())
        self._restore(table, session_key(node, root))
        table.focus()
        self.notify(
            f"root blocker of session {session.id}: session {root.id} ({root.user or '?'}, "
            f"{root.state or '?'}, transaction {fmt.seconds(root.xact_s)})"
        )

    def action_end_session(self, query_only: bool) -> None:
        found = self.selected()
        if found is None:
            self.notify("select a session first", severity="warning")
            return
        node, session = found
        app: ClustertopApp = self.app  # type: ignore[assignment]
        app.end_session(node, session, query_only)
