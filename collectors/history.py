"""Bounded history of samples per node: a 24-hour run holds flat memory."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from clustertop.collectors.samples import NodeSample, PollRound


class History:
    def __init__(self, maxlen: int) -> None:
        self.maxlen = maxlen
        self._by_node: dict[str, deque[NodeSample]] = {}
        self.latest: PollRound | None = None
        self.rounds = 0

    def add(self, round_: PollRound) -> None:
        self.latest = round_
        self.rounds += 1
        for sample in round_.nodes:
            series = self._by_node.get(sample.key)
            if series is None:
                series = self._by_node[sample.key] = deque(maxlen=self.maxlen)
            series.append(sample)

    def series(self, key: str) -> deque[NodeSample]:
        return self._by_node.get(key, deque())

    def keys(self) -> Iterator[str]:
        return iter(self._by_node)

    def __len__(self) -> int:
        return sum(len(s) for s in self._by_node.values())
