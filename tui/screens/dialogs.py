"""Modal dialogs: the key help, a yes/no question, and the node filter."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical { width: 72; height: auto; max-height: 90%; border: thick $accent;
                            background: $surface; padding: 0 1; }
    HelpScreen VerticalScroll { height: auto; max-height: 100%; }
    """

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        for key, description in self.keys:
            table.add_row(key, description)
        with Vertical():
            yield Label("[b]clustertop keys[/b] (esc closes; arrows scroll)")
            with VerticalScroll():
                yield Static(table)


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 60; height: auto; max-height: 100%; border: thick $warning;
                               background: $surface; padding: 1 2; }
    ConfirmScreen Label { width: 100%; }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question)
            yield Label("[b]y[/b] yes   [b]n[/b] no")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class FilterScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    FilterScreen { align: center bottom; }
    FilterScreen > Vertical { width: 100%; height: auto; background: $surface; padding: 0 1; }
    """

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("filter nodes (cluster, node, engine or role; empty shows all):")
            yield Input(value=self.current, id="filter-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def on_input_changed(self, event: Input.Changed) -> None:
        """The screen beneath narrows as you type; escape puts the filter back."""
        self._apply(event.value.strip())

    def action_cancel(self) -> None:
        self._apply(self.current)
        self.dismiss(None)

    def _apply(self, text: str) -> None:
        state = getattr(self.app, "state", None)
        if state is None or len(self.app.screen_stack) < 2:
            return
        state.filter = text
        beneath = self.app.screen_stack[-2]
        refresh = getattr(beneath, "refresh_view", None)
        if refresh is not None:
            refresh()


class SeekScreen(ModalScreen[str | None]):
    """A replay's `g`: where to go, as 14:32:10 (UTC) or -5m / +30s."""

    BINDINGS = [Binding("escape", "dismiss_none", "Cancel")]
    DEFAULT_CSS = """
    SeekScreen { align: center middle; }
    SeekScreen > Vertical { width: 50; height: auto; border: thick $accent; background: $surface;
                            padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("seek to 14:32:10 (UTC) or -5m / +30s; enter goes, esc cancels")
            yield Input(placeholder="-5m", id="seek")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
