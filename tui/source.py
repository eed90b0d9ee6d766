"""Where the app gets its samples: a live poller, or any object with the same two methods."""

from __future__ import annotations

from typing import Protocol

from clustertop.collectors.samples import PollRound


class SampleSource(Protocol):
    def poll_round(self) -> PollRound: ...

    def close(self) -> None: ...
