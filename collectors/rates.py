"""Per-second rates from cumulative counters, safe across restarts and stats resets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Rates:
    interval_s: float
    per_second: Mapping[str, float | None]
    reset: bool


class CounterRates:
    """Remembers the last reading; a counter that went backwards yields None, never < 0."""

    def __init__(self) -> None:
        self._last: tuple[float, dict[str, float | None], dict[str, float]] | None = None

    def update(
        self,
        at: float,
        counters: Mapping[str, float | None],
        own: Mapping[str, float] | None = None,
    ) -> Rates | None:
        """`own` holds running totals of what clustertop itself added to each counter
        (its heartbeat writes, its own queries); their growth is left out of the rates."""
        own_now = dict(own or {})
        previous, self._last = self._last, (at, dict(counters), own_now)
        if previous is None:
            return None
        then, before, own_before = previous
        interval = at - then
        if interval <= 0:
            return None
        rates: dict[str, float | None] = {}
        reset = False
        for name, value in counters.items():
            old = before.get(name)
            if value is None or old is None:
                rates[name] = None
                continue
            delta = value - old
            if delta < 0:
                reset = True
                rates[name] = None
                continue
            delta -= max(0.0, own_now.get(name, 0.0) - own_before.get(name, 0.0))
            rates[name] = max(0.0, delta) / interval
        return Rates(interval, rates, reset)

    def forget(self) -> None:
        """After a reconnect the counters may belong to a restarted server: start afresh."""
        self._last = None
