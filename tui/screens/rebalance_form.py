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


def cluster_field(clusters: tuple[str, ...]) -> tuple[str, Widget]:
    return (
        "cluster",
        FormSelect([(c, c) for c in clusters], value=clusters[0], allow_blank=False, id="cluster"),
    )


def transfer_field() -> tuple[str, Widget]:
    return (
        "transfer",
        FormSelect([(m, m) for m in TRANSFER_MODES], value="auto", allow_blank=False, id="mode"),
    )


class RebalanceForm(OneLineForm[RebalanceRequest]):
    TITLE_TEXT = "rebalance shards"
    SUBMIT_LABEL = "Plan"

    def __init__(self, clusters: tuple[str, ...]) -> None:
        super().__init__()
        self.clusters = clusters  # Citus clusters with actions on

    def fields(self) -> list[tuple[str, Widget]]:
        return [
            cluster_field(self.clusters),
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
            transfer_field(),
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


@dataclass(frozen=True)
class IsolateRequest:
    cluster: str
    table: str | None
    tenant: str | None
    target: str | None
    transfer_mode: str


class IsolateForm(OneLineForm[IsolateRequest]):
    """The `i` form: which tenant to give a shard of its own, and where to move it. Empty
    fields are chosen by the plan: the hottest shard's table and biggest tenant, the
    emptiest worker."""

    TITLE_TEXT = "isolate a hot tenant"
    SUBMIT_LABEL = "Plan"

    def __init__(self, clusters: tuple[str, ...], tenant: str | None = None) -> None:
        super().__init__()
        self.clusters = clusters
        self.tenant = tenant  # the busiest tenant shown on Shards, as a start

    def fields(self) -> list[tuple[str, Widget]]:
        return [
            cluster_field(self.clusters),
            ("table", Input(value="", placeholder="the hottest shard's table", id="table")),
            (
                "tenant",
                Input(
                    value=self.tenant or "",
                    placeholder="the hottest shard's biggest tenant",
                    id="tenant",
                ),
            ),
            ("move to", Input(value="", placeholder="HOST:PORT, or the emptiest worker", id="to")),
            transfer_field(),
        ]

    def submit(self) -> None:
        target = self._value("to") or None
        if target is not None and not target.rpartition(":")[2].isdigit():
            self._fail(f"move to: HOST:PORT of a worker ({target!r})")
            return
        self.dismiss(
            IsolateRequest(
                cluster=str(self.query_one("#cluster", Select).value),
                table=self._value("table") or None,
                tenant=self._value("tenant") or None,
                target=target,
                transfer_mode=str(self.query_one("#mode", Select).value),
            )
        )
