"""The `w` form: cluster, pattern (each with where it runs: a table, the shop data set, or the
tables a custom workload names), table, key skew, connections, target TPS, duration or
transactions, engine, and whether the gate holds it."""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Input, Select

from clustertop.core.mixes import BUILTIN_PATTERNS, PATTERNS
from clustertop.tui.screens.form import FormMemory, FormSelect, OneLineForm
from clustertop.usecases.changes import WorkloadRequest


class WorkloadForm(OneLineForm[WorkloadRequest]):
    TITLE_TEXT = "start a workload"
    # Ten fields: one line each, no gaps, to stay inside 24 lines.
    DEFAULT_CLASSES = "compact"
    # What a cluster's form holds before anything was started on it (the table: its first
    # watched table).
    DEFAULTS = {"pattern": "oltp@table", "skew": "", "connections": "4", "tps": "",
                "duration": "30", "transactions": "", "engine": "builtin", "gate": "off"}

    def __init__(
        self,
        clusters: dict[str, tuple[str, ...]],
        custom_patterns: tuple[str, ...] = (),
        custom_workloads: tuple[str, ...] = (),
        memory: FormMemory | None = None,
    ) -> None:
        super().__init__()
        self.clusters = clusters  # name -> watched tables
        self.memory = memory
        self.first = (memory or FormMemory()).first_cluster(list(clusters))
        self.shown_cluster = self.first
        # (label, "PATTERN@WHERE"): WHERE is table, shop or custom. Built-in first (a pattern
        # with a single-table mix offers both forms), then the config's mixes and workloads.
        choices: list[tuple[str, str]] = []
        for name in BUILTIN_PATTERNS:
            if name in PATTERNS:
                choices.append((f"{name} · table", f"{name}@table"))
            choices.append((f"{name} · shop data set", f"{name}@shop"))
        choices += [(f"{name} · mix", f"{name}@table") for name in custom_patterns]
        choices += [(f"{name} · custom", f"{name}@custom") for name in custom_workloads]
        self.patterns = choices

    def values_for(self, cluster: str) -> dict[str, str]:
        """The cluster's remembered values over the defaults."""
        tables = self.clusters.get(cluster, ())
        return {**self.DEFAULTS, "table": tables[0] if tables else "",
                **self.remembered(cluster)}

    def on_mount(self) -> None:
        self._show_table_if_it_applies()

    def fields(self) -> list[tuple[str, Widget]]:
        first = self.first
        values = self.values_for(first)
        fields = [
            (
                "cluster",
                FormSelect(
                    [(c, c) for c in self.clusters], value=first, allow_blank=False, id="cluster"
                ),
            ),
            (
                "pattern",
                FormSelect(self.patterns, value=values["pattern"], allow_blank=False, id="pattern"),
            ),
            (
                "table",
                Input(value=values["table"], placeholder="SCHEMA.TABLE", id="table"),
            ),
            (
                "key skew",
                Input(value=values["skew"], placeholder="uniform, or zipf:1.1 (hot keys)",
                      id="skew"),
            ),
            ("connections", Input(value=values["connections"], id="connections")),
            ("target TPS", Input(value=values["tps"], placeholder="empty: unthrottled",
                                       id="tps")),
            ("duration s", Input(value=values["duration"], id="duration")),
            (
                "or tx count",
                Input(value=values["transactions"], placeholder="stop after N transactions",
                      id="transactions"),
            ),
            (
                "engine",
                FormSelect(
                    [(e, e) for e in ("builtin", "pgbench", "sysbench")],
                    value=values["engine"],
                    allow_blank=False,
                    id="engine",
                ),
            ),
            (
                "gate",
                FormSelect(
                    [("off", "off"), ("on: held while NO-GO (builtin)", "on")],
                    value=values["gate"],
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
        pattern, where = self._pattern()
        table = self._value("table") if where == "table" else None
        if where == "table" and not table:
            self._fail("table: needed")
            return
        cluster = str(self.query_one("#cluster", Select).value)
        self.remember(cluster)
        self.dismiss(
            WorkloadRequest(
                cluster=cluster,
                pattern=pattern,
                table=table,
                dataset="shop" if where == "shop" else None if where == "custom" else "table",
                skew=self._value("skew") or None,
                connections=connections,
                target_tps=float(tps) if tps else None,
                duration_s=float(duration) if duration else None,
                transactions=int(transactions) if transactions else None,
                engine=str(self.query_one("#engine", Select).value),
                gate=self.query_one("#gate", Select).value == "on",
            )
        )

    def _pattern(self) -> tuple[str, str]:
        value = str(self.query_one("#pattern", Select).value)
        name, _, where = value.rpartition("@")
        return name, where

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "cluster":
            self.follow_cluster()
        self._show_table_if_it_applies()

    def _show_table_if_it_applies(self) -> None:
        """The table applies to single-table patterns only: its row hides for the others."""
        _, where = self._pattern()
        row = self.query_one("#table").parent
        if row is not None:
            row.display = where == "table"
