"""A modal form of one line a field, so a whole form fits an 80x24 terminal: the base of the
workload (`w`) and cleanup (`c`) forms.

A form remembers, per cluster, the values it was last started with (for the app's run): it
opens on the cluster last used, and choosing another cluster brings back that cluster's values.
The confirmation is never remembered: it is typed each time."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select
from textual.widgets.select import InvalidSelectValueError

R = TypeVar("R")
V = TypeVar("V")

NOT_REMEMBERED = frozenset({"confirm"})


@dataclass
class FormMemory:
    """What one kind of form was last started with: field id -> value, per cluster."""

    by_cluster: dict[str, dict[str, str]] = field(default_factory=dict)
    last_cluster: str | None = None

    def first_cluster(self, clusters: Sequence[str]) -> str:
        if self.last_cluster in clusters:
            return self.last_cluster  # type: ignore[return-value]
        return clusters[0] if clusters else ""


class FormSelect(Select[V], Generic[V]):
    """A choice in a form: enter starts the form as on every other field; space, alt+down (or
    up/down) open the list."""

    BINDINGS = [
        Binding("enter", "submit_form", "Start", show=False),
        Binding("space,alt+down,down,up", "show_overlay", "Show menu", show=False),
    ]

    def action_submit_form(self) -> None:
        screen = self.screen
        if isinstance(screen, OneLineForm):
            screen.submit()


class OneLineForm(ModalScreen[R | None], Generic[R]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    OneLineForm { align: center middle; }
    OneLineForm > Vertical { width: 70; height: auto; max-height: 100%; border: thick $accent;
                             background: $surface; padding: 0 1; }
    OneLineForm .row { height: 1; margin-bottom: 1; }
    OneLineForm.compact .row { margin-bottom: 0; }
    OneLineForm .row Label { width: 14; }
    OneLineForm Input { width: 1fr; height: 1; border: none; padding: 0 1; }
    /* Focused, an input keeps one line and no border (a border in one line is only its top
       edge, which hid what was typed); its background says where the cursor is. */
    OneLineForm Input:focus { border: none; background: $accent 30%; }
    OneLineForm Select { width: 1fr; }
    OneLineForm Select > SelectCurrent, OneLineForm Select:focus > SelectCurrent {
        border: none; height: 1; padding: 0 1;
    }
    OneLineForm #form-error { color: $error; height: auto; }
    OneLineForm #buttons { height: 3; }
    """
    TITLE_TEXT = ""
    SUBMIT_LABEL = "Start"
    # Set by a form that takes a cluster: where its values are remembered between openings.
    memory: FormMemory | None = None

    def fields(self) -> Sequence[tuple[str, Widget]]:
        raise NotImplementedError

    def submit(self) -> None:
        """Check the fields: dismiss with the request, or _fail with what to fix."""
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(
                f"[b]{self.TITLE_TEXT}[/b]  tab moves, space opens a list, enter starts, "
                "esc cancels"
            )
            for label, field in self.fields():
                with Horizontal(classes="row"):
                    yield Label(label)
                    yield field
            yield Label("", id="form-error")
            with Horizontal(id="buttons"):
                yield Button(self.SUBMIT_LABEL, variant="primary", id="start")
                yield Button("Cancel", id="cancel")

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.submit()

    # -- memory: the values last started with, per cluster ------------------------------------

    def remembered(self, cluster: str) -> dict[str, str]:
        return dict(self.memory.by_cluster.get(cluster, {})) if self.memory else {}

    def remember(self, cluster: str) -> None:
        """Called as the form starts its request: keep every field but the confirmation."""
        if self.memory is None:
            return
        values: dict[str, str] = {}
        for widget in self.query("Input, Select"):
            if widget.id and widget.id not in NOT_REMEMBERED and widget.id != "cluster":
                assert isinstance(widget, Input | Select)
                values[widget.id] = str(widget.value)
        self.memory.by_cluster[cluster] = values
        self.memory.last_cluster = cluster

    shown_cluster = ""  # the cluster whose values the fields hold

    def values_for(self, cluster: str) -> dict[str, str]:
        """A cluster's values: a form with defaults lays its memory over them."""
        return self.remembered(cluster)

    def follow_cluster(self) -> None:
        """Another cluster chosen: its remembered values come back; with none remembered
        there, the fields keep what they hold but the table, which becomes one that cluster
        watches."""
        cluster = str(self.query_one("#cluster", Select).value)
        if cluster == self.shown_cluster:
            return
        self.shown_cluster = cluster
        values = self.values_for(cluster)
        self.restore(values if self.remembered(cluster) else {"table": values.get("table", "")})

    def restore(self, values: dict[str, str]) -> None:
        """Put remembered values back into the fields (a choice no longer offered is left)."""
        for widget_id, value in values.items():
            for widget in self.query(f"#{widget_id}"):
                if isinstance(widget, Input):
                    widget.value = value
                elif isinstance(widget, Select):
                    with contextlib.suppress(InvalidSelectValueError):  # no longer offered
                        widget.value = value

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    def _fail(self, text: str) -> None:
        self.query_one("#form-error", Label).update(text)

    def _number(
        self, widget_id: str, kind: type, *, required: bool, zero_ok: bool = False
    ) -> float | int | None:
        text = self._value(widget_id)
        if not text:
            if required:
                raise ValueError(f"{widget_id}: needed")
            return None
        try:
            value = kind(text)
        except ValueError:
            raise ValueError(f"{widget_id}: not a number ({text!r})") from None
        if value < 0 or (value == 0 and not zero_ok):
            least = "0 or more" if zero_ok else "more than 0"
            raise ValueError(f"{widget_id}: must be {least} ({text!r})")
        return value  # type: ignore[no-any-return]


class JobSettingsForm(OneLineForm[dict[str, str]]):
    """`e` on Jobs: the running job's live settings, each changed from its next chunk on."""

    TITLE_TEXT = "change the running job"
    SUBMIT_LABEL = "Change"

    def __init__(self, job_id: int, settings: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.job_id = job_id
        self.settings = tuple(settings)

    def fields(self) -> list[tuple[str, Widget]]:
        return [(key, Input(value=value, id=key)) for key, value in self.settings]

    def submit(self) -> None:
        changed = {
            key: self._value(key) for key, value in self.settings if self._value(key) != value
        }
        self.dismiss(changed)
