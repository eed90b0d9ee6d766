"""What every monitoring screen shares: the health line on top, the footer, and a refresh hook."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Static

from clustertop.tui.alerts import CRIT, OK, WARN
from clustertop.tui.state import AppState
from clustertop.tui.widgets.health import HealthBar

if TYPE_CHECKING:
    from clustertop.tui.app import ClustertopApp

LEVEL_STYLES = {OK: "green", WARN: "yellow", CRIT: "bold red"}


def styled(text: str, level: str) -> Text:
    return Text(text, style=LEVEL_STYLES.get(level, ""))


class MonitorScreen(Screen[None]):
    SCREEN_TITLE = ""

    def compose(self) -> ComposeResult:
        yield HealthBar()
        hint = Static("", id="hint")
        hint.display = False
        yield hint
        yield from self.compose_body()
        # Compact: at 80 columns the keys of this screen and the app's main ones fit.
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:
        yield from ()

    @property
    def state(self) -> AppState:
        app: ClustertopApp = self.app  # type: ignore[assignment]
        return app.state

    def on_screen_resume(self) -> None:
        self.refresh_view()

    def refresh_view(self) -> None:
        self.query_one(HealthBar).show(self.state, self.SCREEN_TITLE)
        hint = self.query_one("#hint", Static)
        hint.display = bool(self.state.hint)
        if self.state.hint:
            hint.update(Text(self.state.hint, style="bold reverse"))
        self.update_body()

    def update_body(self) -> None:
        """Redraw from self.state; called after every poll and when the screen comes back."""
