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

    def _silenced_jobs(self, cluster: str) -> tuple[str, ...]:
        c = self.config.clusters.get(cluster)
        return c.silenced_jobs if c else ()

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
        alerts += session_alerts(node, t)
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
                            f"{node.key}: {table.name} {table.fragmentation_ratio:.0%} "
                            "reclaimable",
                        )
                    )
            if detail.timescale is not None:
                silenced = self._silenced_jobs(node.cluster)
                failing = [
                    j for j in detail.timescale.jobs if j.failing and not j.silenced_by(silenced)
                ]
                if failing:
                    job = failing[0]
                    more = f" (+{len(failing) - 1} more)" if len(failing) > 1 else ""
                    alerts.append(
                        Alert(
                            f"{node.key} timescaledb jobs",
                            WARN,
                            f"{node.key}: TimescaleDB job {job.job_id} ({job.name}) failing: "
                            f"{job.last_error or 'no error recorded'}{more}",
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


def session_alerts(node: NodeSample, t: Thresholds) -> list[Alert]:
    """The outage of a change: a DDL (or a whole-table lock) queued behind a long transaction,
    with sessions queued behind the DDL. One critical alert per node, naming the root blocker;
    and a warning for a transaction old enough to hold back purge/vacuum and the replicas."""
    sessions = node.sessions
    if sessions is None:
        return []
    alerts = []
    queued_behind: dict[int, int] = {}
    for s in sessions.sessions:
        for blocker in s.blocked_by:
            queued_behind[blocker] = queued_behind.get(blocker, 0) + 1
    stuck = [
        s for s in sessions.sessions
        if s.ddl and s.blocked_by and queued_behind.get(s.id)
        and (s.wait_s if s.wait_s is not None else s.state_s or 0.0) >= t.ddl_wait_crit_s
    ]
    if stuck:
        ddl = max(stuck, key=lambda s: s.wait_s or s.state_s or 0.0)
        root = sessions.root_of(ddl.id)
        waited = ddl.wait_s if ddl.wait_s is not None else ddl.state_s
        behind = (
            f"session {root.id} (user {root.user or '?'}, transaction "
            f"{_age(root.xact_s)} old, {root.state or '?'})"
            if root is not None and root.id != ddl.id
            else "a session not read"
        )
        what = " ".join((ddl.statement or "DDL").split()[:2])
        alerts.append(
            Alert(
                f"{node.key} ddl wait",
                CRIT,
                f"{node.key}: {what} (session {ddl.id}) waits {_age(waited)} behind {behind};"
                f" {queued_behind[ddl.id]} session(s) queued behind it",
            )
        )
    oldest = sessions.oldest_xact_s
    if oldest is not None and oldest >= t.oldest_transaction_warn_s:
        alerts.append(
            Alert(
                f"{node.key} old transaction",
                WARN,
                f"{node.key}: transaction open {_age(oldest)} (session "
                f"{sessions.oldest_xact_session})",
            )
        )
    return alerts


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return f"{seconds:.1f}s" if seconds < 60 else f"{seconds / 60:.0f}min"
