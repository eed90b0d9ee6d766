"""The `w` form: cluster, pattern, connections, target TPS, duration or transactions, engine."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from actions.workload.patterns import PATTERNS


@dataclass(frozen=True)
class WorkloadRequest:
    cluster: str
    pattern: str
    table: str
    connections: int
    target_tps: float | None
    duration_s: float | None
    transactions: int | None
    engine: str


class WorkloadForm(ModalScreen[WorkloadRequest | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    # One line a field, so the whole form fits an 80x24 terminal.
    DEFAULT_CSS = """
    WorkloadForm { align: center middle; }
    WorkloadForm > Vertical { width: 70; height: auto; max-height: 100%; border: thick $accent;
                              background: $surface; padding: 0 1; }
    WorkloadForm .row { height: 1; margin-bottom: 1; }
    WorkloadForm .row Label { width: 14; }
    WorkloadForm Input { width: 1fr; height: 1; border: none; padding: 0 1; }
    WorkloadForm Select { width: 1fr; }
    WorkloadForm Select > SelectCurrent, WorkloadForm Select:focus > SelectCurrent {
        border: none; height: 1; padding: 0 1;
    }
    WorkloadForm #form-error { color: $error; height: auto; }
    WorkloadForm #buttons { height: 3; }
    """

    def __init__(
        self, clusters: dict[str, tuple[str, ...]], custom_patterns: tuple[str, ...] = ()
    ) -> None:
        super().__init__()
        self.clusters = clusters  # name -> watched tables
        self.patterns = (*PATTERNS, *custom_patterns)  # built-in, then the config's mixes

    def compose(self) -> ComposeResult:
        first = next(iter(self.clusters), "")
        tables = self.clusters.get(first, ())
        fields = [
            (
                "cluster",
                Select(
                    [(c, c) for c in self.clusters], value=first, allow_blank=False, id="cluster"
                ),
            ),
            (
                "pattern",
                Select(
                    [(p, p) for p in self.patterns], value="oltp", allow_blank=False, id="pattern"
                ),
            ),
            (
                "table",
                Input(value=tables[0] if tables else "", placeholder="SCHEMA.TABLE", id="table"),
            ),
            ("connections", Input(value="4", id="connections")),
            ("target TPS", Input(value="", placeholder="empty: unthrottled", id="tps")),
            ("duration s", Input(value="30", id="duration")),
            (
                "or tx count",
                Input(value="", placeholder="stop after N transactions", id="transactions"),
            ),
            (
                "engine",
                Select(
                    [(e, e) for e in ("builtin", "pgbench", "sysbench")],
                    value="builtin",
                    allow_blank=False,
                    id="engine",
                ),
            ),
        ]
        with Vertical():
            yield Label("[b]start a workload[/b]  tab moves, enter starts, esc cancels")
            for label, field in fields:
                with Horizontal(classes="row"):
                    yield Label(label)
                    yield field
            yield Label("", id="form-error")
            with Horizontal(id="buttons"):
                yield Button("Start", variant="primary", id="start")
                yield Button("Cancel", id="cancel")

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    def _fail(self, text: str) -> None:
        self.query_one("#form-error", Label).update(text)

    def _submit(self) -> None:
        def number(widget_id: str, kind: type, *, required: bool) -> float | int | None:
            text = self._value(widget_id)
            if not text:
                if required:
                    raise ValueError(f"{widget_id}: needed")
                return None
            try:
                value = kind(text)
            except ValueError:
                raise ValueError(f"{widget_id}: not a number ({text!r})") from None
            if value <= 0:
                raise ValueError(f"{widget_id}: must be more than 0 ({text!r})")
            return value

        try:
            connections = int(number("connections", int, required=True) or 0)
            tps = number("tps", float, required=False)
            transactions = number("transactions", int, required=False)
            duration = None if transactions else number("duration", float, required=True)
        except ValueError as exc:
            self._fail(str(exc))
            return
        table = self._value("table")
        if not table:
            self._fail("table: needed")
            return
        self.dismiss(
            WorkloadRequest(
                cluster=str(self.query_one("#cluster", Select).value),
                pattern=str(self.query_one("#pattern", Select).value),
                table=table,
                connections=connections,
                target_tps=float(tps) if tps else None,
                duration_s=float(duration) if duration else None,
                transactions=int(transactions) if transactions else None,
                engine=str(self.query_one("#engine", Select).value),
            )
        )
