"""The `w` form: cluster, pattern, connections, target TPS, duration or transactions, engine,
and whether the gate holds it."""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Input, Select

from clustertop.core.mixes import PATTERNS
from clustertop.tui.screens.form import FormSelect, OneLineForm
from clustertop.usecases.changes import WorkloadRequest


class WorkloadForm(OneLineForm[WorkloadRequest]):
    TITLE_TEXT = "start a workload"
    # Nine fields: one line each, no gaps, to stay inside 24 lines.
    DEFAULT_CLASSES = "compact"

    def __init__(
        self, clusters: dict[str, tuple[str, ...]], custom_patterns: tuple[str, ...] = ()
    ) -> None:
        super().__init__()
        self.clusters = clusters  # name -> watched tables
        self.patterns = (*PATTERNS, *custom_patterns)  # built-in, then the config's mixes

    def fields(self) -> list[tuple[str, Widget]]:
        first = next(iter(self.clusters), "")
        tables = self.clusters.get(first, ())
        fields = [
            (
                "cluster",
                FormSelect(
                    [(c, c) for c in self.clusters], value=first, allow_blank=False, id="cluster"
                ),
            ),
            (
                "pattern",
                FormSelect(
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
                FormSelect(
                    [(e, e) for e in ("builtin", "pgbench", "sysbench")],
                    value="builtin",
                    allow_blank=False,
                    id="engine",
                ),
            ),
            (
                "gate",
                FormSelect(
                    [("off", "off"), ("on: held while NO-GO (builtin)", "on")],
                    value="off",
                    allow_blank=False,
                    id="gate",
                ),
            ),
        ]
        return fields

    def submit(self) -> None:
        number = self._number
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
                gate=self.query_one("#gate", Select).value == "on",
            )
        )
