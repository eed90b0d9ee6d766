"""`o`: the Go/No-Go gate of every cluster, each rule with its state, live value and where the
worst value is; refreshed as rounds arrive. The same rules `clustertop gate` judges."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from clustertop.collectors.gate import FAIL, NOT_APPLICABLE, PASS, UNKNOWN

if TYPE_CHECKING:
    from clustertop.tui.app import ClustertopApp

STATE_STYLES = {PASS: "green", FAIL: "bold red", UNKNOWN: "yellow", NOT_APPLICABLE: "dim"}


class GateScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,o,q", "dismiss", "Close")]
    DEFAULT_CSS = """
    GateScreen { align: center middle; }
    GateScreen > Vertical { width: 96%; max-width: 110; height: auto; max-height: 96%;
                            border: thick $accent; background: $surface; padding: 0 1; }
    GateScreen VerticalScroll { height: auto; max-height: 100%; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("[b]Go/No-Go gate[/b] (esc closes; `clustertop gate` judges the same)")
            with VerticalScroll():
                yield Static(id="gate-rules")

    table: Table | None = None

    def on_mount(self) -> None:
        self.show_verdicts()
        self.set_interval(0.5, self.show_verdicts)

    def show_verdicts(self) -> None:
        app: ClustertopApp = self.app  # type: ignore[assignment]
        verdicts = app.state.verdicts
        table = Table.grid(padding=(0, 1))
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(justify="right", no_wrap=True)
        table.add_column(overflow="fold")
        if not verdicts:
            table.add_row("waiting for the first poll", "", "", "")
        for verdict in verdicts.values():
            word = Text(verdict.word, style="bold green" if verdict.go else "bold red")
            table.add_row(Text(verdict.cluster, style="bold"), word, "", "")
            for r in verdict.results:
                why = r.why + (" (unknown passes)" if r.state == UNKNOWN and r.rule.unknown_pass
                               else "")
                table.add_row(Text(f" {r.state}", style=STATE_STYLES.get(r.state, "")),
                              r.rule.text, r.shown, Text(why, style="dim"))
        self.table = table  # what is on screen, for a test to read
        self.query_one("#gate-rules", Static).update(table)
