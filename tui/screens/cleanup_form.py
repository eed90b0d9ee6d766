"""The `c` form: a cleanup on one table. Anything but a dry run removes rows, so the table's
name must be typed in the last field to start it (as k9s asks before a bulk delete).

The form opens on the cluster last used, with the values it was last started with there (per
app run); after a dry run, with dry run set to no: the same cleanup, for real, once the table's
name is typed. Fields that do
not apply hide: the confirmation during a dry run, the table and dry run for a comparison."""

from __future__ import annotations

from dataclasses import dataclass

from textual.widget import Widget
from textual.widgets import Input, Select

from clustertop.actions.cleanup.job import METHODS
from clustertop.tui.screens.form import FormMemory, FormSelect, OneLineForm

# All four methods side by side on COMPARE_ROWS fresh rows of the cleanup_bench tables (the
# demo's: its own rows a table; `clustertop compare --rows N` for other sizes).
COMPARE = "compare all four"


@dataclass(frozen=True)
class CleanupRequest:
    cluster: str
    table: str
    method: str
    retention_days: float
    batch_size: int
    batch_delay_s: float
    max_lag_s: float | None
    dry_run: bool
    target_lag_s: float | None = None
    gate: bool = False


class CleanupForm(OneLineForm[CleanupRequest]):
    TITLE_TEXT = "clean up old rows"
    # Twelve fields: one line each, no gaps, to stay inside 24 lines.
    DEFAULT_CLASSES = "compact"
    # What a cluster's form holds before anything was started on it (the table: its first
    # watched table).
    DEFAULTS = {"method": "batch_delete", "retention": "10", "batch": "5000", "delay": "0.1",
                "lag": "", "target": "", "gate": "off", "dry": "yes"}

    def __init__(
        self, clusters: dict[str, tuple[str, ...]], memory: FormMemory | None = None
    ) -> None:
        super().__init__()
        self.clusters = clusters  # name -> watched tables (actions on only)
        self.memory = memory
        self.first = (memory or FormMemory()).first_cluster(list(clusters))
        self.shown_cluster = self.first
        if self.remembered(self.first).get("dry") == "yes":
            self.TITLE_TEXT = "clean up old rows: the dry run's values, for real"

    def values_for(self, cluster: str) -> dict[str, str]:
        """The cluster's remembered values over the defaults; after a dry run, dry run off:
        the same cleanup for real is the next step. After a real run, a dry run again: the
        next removal is a new one, and starts by showing what it would do."""
        tables = self.clusters.get(cluster, ())
        values = {**self.DEFAULTS, "table": tables[0] if tables else ""}
        values.update(self.remembered(cluster))
        last = self.remembered(cluster).get("dry")
        if last is not None:
            values["dry"] = "no" if last == "yes" else "yes"
        return values

    def fields(self) -> list[tuple[str, Widget]]:
        values = self.values_for(self.first)
        return [
            (
                "cluster",
                FormSelect(
                    [(c, c) for c in self.clusters], value=self.first, allow_blank=False,
                    id="cluster",
                ),
            ),
            ("table", Input(value=values["table"], placeholder="SCHEMA.TABLE", id="table")),
            (
                "method",
                FormSelect(
                    [(m, m) for m in (*METHODS, COMPARE)],
                    value=values["method"],
                    allow_blank=False,
                    id="method",
                ),
            ),
            ("retention d", Input(value=values["retention"], id="retention")),
            ("batch size", Input(value=values["batch"], id="batch")),
            ("batch delay s", Input(value=values["delay"], id="delay")),
            ("max lag s", Input(value=values["lag"], placeholder="empty: no limit", id="lag")),
            ("target lag s", Input(value=values["target"], placeholder="empty: not paced",
                                   id="target")),
            (
                "gate",
                FormSelect(
                    [("off: the limits above only", "off"), ("on: hold while NO-GO", "on")],
                    value=values["gate"],
                    allow_blank=False,
                    id="gate",
                ),
            ),
            (
                "dry run",
                FormSelect(
                    [("yes: print the SQL only", "yes"), ("no: remove rows", "no")],
                    value=values["dry"],
                    allow_blank=False,
                    id="dry",
                ),
            ),
            (
                "confirm",
                Input(value="", placeholder=self._confirm_hint(values["table"], values["method"]),
                      id="confirm"),
            ),
        ]

    def submit(self) -> None:
        try:
            retention = self._number("retention", float, required=True, zero_ok=True)
            batch = self._number("batch", int, required=True)
            delay = self._number("delay", float, required=True, zero_ok=True)
            lag = self._number("lag", float, required=False)
            target = self._number("target", float, required=False)
        except ValueError as exc:
            self._fail(str(exc))
            return
        table = self._value("table")
        if not table:
            self._fail("table: needed")
            return
        dry_run = self.query_one("#dry", Select).value == "yes"
        method = str(self.query_one("#method", Select).value)
        if method == COMPARE:
            table, dry_run = "cleanup_bench", False  # it reloads and cleans that schema's tables
        if not dry_run and self._value("confirm") != table:
            self._fail(f"confirm: type {table}")
            return
        cluster = str(self.query_one("#cluster", Select).value)
        self.remember(cluster)
        self.dismiss(
            CleanupRequest(
                cluster=cluster,
                table=table,
                method=method,
                retention_days=float(retention or 0),
                batch_size=int(batch or 0),
                batch_delay_s=float(delay or 0),
                max_lag_s=float(lag) if lag else None,
                dry_run=dry_run,
                target_lag_s=float(target) if target else None,
                gate=self.query_one("#gate", Select).value == "on",
            )
        )

    @staticmethod
    def _confirm_hint(table: str, method: str) -> str:
        if method == COMPARE:
            return "type cleanup_bench: it reloads and cleans those tables"
        return f"type {table or 'the table name'} to remove rows"

    def on_mount(self) -> None:
        self._show_what_applies()
        if self.remembered(self.first).get("dry") == "yes":
            # After a dry run the values stand: what is left is to type the confirmation. Set
            # now, not deferred as Widget.focus() is: the screen's auto focus, on its resume,
            # only picks the first field when nothing has the focus yet.
            self.set_focus(self.query_one("#confirm", Input))

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "cluster":
            self.follow_cluster()
        self._show_what_applies()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "table":
            self._show_what_applies()

    def _show_what_applies(self) -> None:
        """A comparison picks its own tables and always runs for real; a dry run needs no
        confirmation. The confirmation's hint names exactly what to type."""
        method = str(self.query_one("#method", Select).value)
        compare = method == COMPARE
        dry = self.query_one("#dry", Select).value == "yes" and not compare
        for widget_id, shown in (("table", not compare), ("dry", not compare),
                                 ("confirm", not dry)):
            row = self.query_one(f"#{widget_id}").parent
            if row is not None:
                row.display = shown
        confirm = self.query_one("#confirm", Input)
        confirm.placeholder = self._confirm_hint(self._value("table"), method)
