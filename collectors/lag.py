"""The rules that turn raw replication readings into the lag shown: pure functions, no threads
and no connections, tested table-driven (tests/test_lag_rules.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WAITING_FOR_FIRST_HEARTBEAT = "waiting for the source's first heartbeat"


@dataclass(frozen=True)
class LagEstimate:
    lag_s: float | None
    lower_bound: bool = False  # the lag is at least lag_s
    error: str | None = None


def heartbeat_lag(
    applied_at: float,
    age_s: float,
    writer_started_at: float | None,
    interval_s: float,
    shared: bool = False,
) -> LagEstimate:
    """The lag from the newest heartbeat a replica has applied, when our own writer keeps the
    source's row fresh.

    `applied_at` is when that heartbeat was written (source clock), `age_s` how old it is now
    (replica clock), `writer_started_at` when our writer first wrote, `interval_s` how often.
    - A heartbeat from our writer: the replica has it but not, as far as we know, the next one,
      written `interval` later, so the lag lies between age - interval and age; the middle of
      that range is off by interval / 2 at most.
    - A heartbeat from before our writer started says nothing about now: the replica is behind
      by at least the time since our first write - a lower bound, until it applies that write.
      Unless another writer kept the row fresh before ours (`shared`): then the heartbeat's age
      is the lag at once, as pt-heartbeat reads it.
    """
    if writer_started_at is None:
        return LagEstimate(None, error=WAITING_FOR_FIRST_HEARTBEAT)
    if applied_at >= writer_started_at:
        return LagEstimate(age_s - min(age_s, interval_s) / 2)
    if shared:
        return LagEstimate(age_s)
    replica_now = applied_at + age_s
    return LagEstimate(max(0.0, replica_now - writer_started_at), lower_bound=True)


def catchup_rate(points: Sequence[tuple[float, float]], min_span_s: float = 1.0) -> float | None:
    """Lag seconds recovered per second between the first and the last (time, lag) point:
    positive while a replica catches up, negative while it falls behind; unknown over less
    than `min_span_s`."""
    if len(points) < 2:
        return None
    (then, old_lag), (now, lag) = points[0], points[-1]
    if now - then < min_span_s:
        return None
    return (old_lag - lag) / (now - then)
