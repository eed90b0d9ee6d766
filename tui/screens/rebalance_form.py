"""The `b` form on the Shards screen: strategy, a worker to drain or none, transfer mode. The
plan it leads to is shown (moves, real sizes, skew expected) before anything starts."""

from __future__ import annotations

from dataclasses import dataclass

from textual.widget import Widget
from textual.widgets import Input, Select

from clustertop.actions.rebalance import STRATEGIES, TRANSFER_MODES
from clustertop.tui.screens.form import FormSelect, OneLineForm


@dataclass(frozen=True)
class RebalanceRequest:
    cluster: str
    strategy: str
    drain: str | None
    transfer_mode: str


class RebalanceForm(OneLineForm[RebalanceRequest]):
    TITLE_TEXT = "rebalance shards"
    SUBMIT_LABEL = "Plan"

    def __init__(self, clusters: tuple[str, ...]) -> None:
        super().__init__()
        self.clusters = clusters  # Citus clusters with actions on

    def fields(self) -> list[tuple[str, Widget]]:
        return [
            (
                "cluster",
                FormSelect(
                    [(c, c) for c in self.clusters],
                    value=self.clusters[0],
                    allow_blank=False,
                    id="cluster",
                ),
            ),
            (
                "strategy",
                FormSelect(
                    [(s, s) for s in STRATEGIES],
                    value=STRATEGIES[0],
                    allow_blank=False,
                    id="strategy",
                ),
            ),
            ("drain", Input(value="", placeholder="HOST:PORT to empty, or nothing", id="drain")),
            (
                "transfer",
                FormSelect(
                    [(m, m) for m in TRANSFER_MODES], value="auto", allow_blank=False, id="mode"
                ),
            ),
        ]

    def submit(self) -> None:
        drain = self._value("drain") or None
        if drain is not None and not drain.rpartition(":")[2].isdigit():
            self._fail(f"drain: HOST:PORT of a worker ({drain!r})")
            return
        self.dismiss(
            RebalanceRequest(
                cluster=str(self.query_one("#cluster", Select).value),
                strategy=str(self.query_one("#strategy", Select).value),
                drain=drain,
                transfer_mode=str(self.query_one("#mode", Select).value),
            )
        )
