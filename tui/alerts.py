"""Thresholds to levels, and the alerts that are active now; a crit alert is raised once, when
a value crosses into it, not on every poll while it stays there."""

from __future__ import annotations

from dataclasses import dataclass

from clustertop.collectors.samples import NodeSample, PollRound
from clustertop.core.config import Config, Thresholds

OK, WARN, CRIT = "ok", "warn", "crit"


def lag_level(lag: float | None, t: Thresholds) -> str:
    if lag is None:
        return OK
    if lag >= t.lag_crit_s:
        return CRIT
    return WARN if lag >= t.lag_warn_s else OK


def ratio_level(value: float | None, warn: float) -> str:
    if value is None:
        return OK
    if value >= 2 * warn:
        return CRIT
    return WARN if value >= warn else OK


@dataclass(frozen=True)
class Alert:
    key: str  # what it is about, e.g. "lab-mariadb/replica1 lag"
    level: str
    text: str


class AlertBook:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.active: dict[str, Alert] = {}

    def thresholds(self, cluster: str) -> Thresholds:
        c = self.config.clusters.get(cluster)
        return c.thresholds if c else Thresholds()

    def update(self, round_: PollRound) -> list[Alert]:
        """Fold in a round; returns the alerts that have just become critical."""
        current: dict[str, Alert] = {}
        for node in round_.nodes:
            for alert in self._node_alerts(node):
                current[alert.key] = alert
        fresh = [
            a
            for k, a in current.items()
            if a.level == CRIT and (k not in self.active or self.active[k].level != CRIT)
        ]
        self.active = current
        return fresh

    def _node_alerts(self, node: NodeSample) -> list[Alert]:
        t = self.thresholds(node.cluster)
        alerts = []
        if not node.up:
            alerts.append(Alert(f"{node.key} down", CRIT, f"{node.key} DOWN: {node.error}"))
            return alerts
        if node.accepting_connections is False:
            alerts.append(
                Alert(
                    f"{node.key} not accepting",
                    CRIT,
                    f"{node.key} up, but not accepting new connections: {node.accept_error}",
                )
            )
        if node.unknown:
            # A figure kept unknown by a grant is not a fault of the node, but the operator
            # must see why it shows `?` and what would fix it.
            alerts.append(
                Alert(f"{node.key} unknown", WARN, f"{node.key} unknown: {node.unknown[0]}"
                      + (f" (+{len(node.unknown) - 1} more)" if len(node.unknown) > 1 else ""))
            )
        for rep in node.replication:
            level = lag_level(rep.lag_s, t)
            if rep.running is False:
                level = CRIT
                text = (
                    f"{node.key} replication stopped (io {rep.io_running}, sql {rep.sql_running})"
                )
            else:
                at_least = ">=" if rep.lag_is_lower_bound else ""
                text = f"{node.key} lag {at_least}{rep.lag_s:.1f}s" if rep.lag_s is not None else ""
            if level != OK:
                alerts.append(Alert(f"{node.key} lag", level, text))
        detail = node.detail
        if detail is not None:
            # Partition skew is shown but not alerted: daily partitions are uneven by design.
            for table in detail.tables:
                level = ratio_level(table.fragmentation_ratio, t.fragmentation_warn_ratio)
                if level == WARN:
                    alerts.append(
                        Alert(
                            f"{node.key} {table.name} frag",
                            WARN,
                            f"{table.name} {table.fragmentation_ratio:.0%} reclaimable",
                        )
                    )
            if detail.citus is not None and detail.citus.skew is not None:
                level = ratio_level(detail.citus.skew, t.skew_warn_ratio)
                if level != OK:
                    alerts.append(
                        Alert(
                            f"{node.cluster} shard skew",
                            level,
                            f"{node.cluster} shard skew {detail.citus.skew:.0%}",
                        )
                    )
        return alerts
