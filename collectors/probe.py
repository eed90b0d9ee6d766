"""Whether a node still accepts new connections. A server whose postmaster is stopped (or
whose max_connections is used up) keeps answering on the sessions it has, so the poll's
long-lived connection says "up"; a fresh connection, opened every few seconds with the
connect timeout in a thread of its own, says whether anyone else could get in."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clustertop.collectors.connect import ConnectError
from clustertop.collectors.engines import adapter_for
from clustertop.collectors.errors import close_quietly, error_text
from clustertop.collectors.own import OwnActivity
from clustertop.collectors.periodic import PeriodicWork

if TYPE_CHECKING:
    from clustertop.collectors.poller import PollTarget

@dataclass(frozen=True)
class ProbeResult:
    at: float  # unix time the probe ended
    accepting: bool
    error: str | None = None
    connect_ms: float | None = None


class ConnectionProbe(PeriodicWork):
    """Opens and closes one fresh connection every probe interval, never two at once."""

    def __init__(self, target: PollTarget) -> None:
        # Never started when the target has no probe interval (see PollTarget).
        super().__init__(f"probe-{target.spec.key}", target.probe_interval or 3600.0)
        self.target = target
        self.latest: ProbeResult | None = None
        self.activity = OwnActivity()  # what the probe's connects count on the server

    def _run(self) -> None:
        spec = self.target.spec
        started = time.perf_counter()
        try:
            conn = adapter_for(spec).probe_connect(spec, self.target.connect_timeout)
        except ConnectError as exc:
            self.latest = ProbeResult(time.time(), False, str(exc))
            return
        except Exception as exc:  # a thread hands back an error, never dies with it
            self.latest = ProbeResult(time.time(), False, error_text(exc))
            return
        self.activity.add("queries", adapter_for(spec).connect_queries)
        close_quietly(conn)
        self.latest = ProbeResult(time.time(), True, connect_ms=(time.perf_counter() - started) * 1000)

    def current(self) -> ProbeResult | None:
        """The latest result while it is recent (three probe intervals); older says nothing."""
        latest = self.latest
        if latest is None or time.time() - latest.at > 3 * self.every_s + 5:
            return None
        return latest

    def close(self) -> None:
        self.closing = True
