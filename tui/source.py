"""Where the app gets its samples: a live poller, or any object with the same two methods."""

from __future__ import annotations

from typing import Protocol

from clustertop.config import Config
from collectors.poller import Poller, PollTarget
from collectors.samples import PollRound


class SampleSource(Protocol):
    def poll_round(self) -> PollRound: ...

    def close(self) -> None: ...


def live_source(config: Config) -> Poller:
    targets = [
        PollTarget(node, cluster.connect_timeout, cluster.statement_timeout)
        for cluster in config.clusters.values()
        for node in cluster.nodes
    ]
    return Poller(targets)
