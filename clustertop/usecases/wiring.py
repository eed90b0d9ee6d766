"""From a Config to the plain objects collectors/ and actions/ take: the one place that knows
both the config format and the collectors' arguments."""

from __future__ import annotations

from clustertop.collectors.poller import Poller, PollTarget
from clustertop.core.config import Config


def poll_targets(config: Config) -> list[PollTarget]:
    return [
        PollTarget(
            spec=node,
            connect_timeout=cluster.connect_timeout,
            statement_timeout=cluster.statement_timeout,
            heartbeat_table=cluster.heartbeat_table if cluster.heartbeat else None,
            watched_tables=cluster.watched_tables,
            detail_interval=max(5.0, cluster.poll_interval * 5),
            detail_timeout=max(10.0, cluster.poll_interval * 10),
            show_literals=config.ui.show_literals,
        )
        for cluster in config.clusters.values()
        for node in cluster.nodes
    ]


def make_poller(config: Config) -> Poller:
    return Poller(poll_targets(config))
