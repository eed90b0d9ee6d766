"""The `c` form: a cleanup on one table. Anything but a dry run removes rows, so the table's
name must be typed in the last field to start it (as k9s asks before a bulk delete)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.widget import Widget
from textual.widgets import Input, Select

from clustertop.actions.cleanup.job import METHODS
from clustertop.tui.screens.form import FormSelect, OneLineForm

# All four methods side by side on COMPARE_ROWS fresh rows of the cleanup_bench tables
# (`clustertop compare --rows N` for other sizes).
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

    def __init__(self, clusters: dict[str, tuple[str, ...]]) -> None:
        super().__init__()
        self.clusters = clusters  # name -> watched tables (actions on only)

    def fields(self) -> list[tuple[str, Widget]]:
        first = next(iter(self.clusters), "")
        tables = self.clusters.get(first, ())
        return [
            (
                "cluster",
                FormSelect(
                    [(c, c) for c in self.clusters], value=first, allow_blank=False, id="cluster"
                ),
            ),
            (
                "table",
                Input(value=tables[0] if tables else "", placeholder="SCHEMA.TABLE", id="table"),
            ),
            (
                "method",
                FormSelect(
                    [(m, m) for m in (*METHODS, COMPARE)],
                    value="batch_delete",
                    allow_blank=False,
                    id="method",
                ),
            ),
            ("retention d", Input(value="10", id="retention")),
            ("batch size", Input(value="5000", id="batch")),
            ("batch delay s", Input(value="0.1", id="delay")),
            ("max lag s", Input(value="", placeholder="empty: no limit", id="lag")),
            ("target lag s", Input(value="", placeholder="empty: not paced", id="target")),
            (
                "gate",
                FormSelect(
                    [("off: the limits above only", "off"), ("on: hold while NO-GO", "on")],
                    value="off",
                    allow_blank=False,
                    id="gate",
                ),
            ),
            (
                "dry run",
                FormSelect(
                    [("yes: print the SQL only", "yes"), ("no: remove rows", "no")],
                    value="yes",
                    allow_blank=False,
                    id="dry",
                ),
            ),
            (
                "confirm",
                Input(value="", placeholder="type the table name to remove rows", id="confirm"),
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
            self._fail(f"confirm: type {table} to remove rows (or choose dry run)")
            return
        self.dismiss(
            CleanupRequest(
                cluster=str(self.query_one("#cluster", Select).value),
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
