"""Pacing a chunked cleanup: chunk sizes and the pauses between chunks chosen from what was just
measured, so the replicas' lag is steered toward a target instead of being reacted to once it
is passed (--max-lag stays the hard stop), or chunks sized to a time as pt-online-schema-change's
--chunk-time does.

The lag controller rests on one identity: a replica whose heartbeat lag is L at time t has
applied everything the primary committed up to t - L. With the time and running total of each
committed chunk, two readings a second apart give the rows the replica applied in that second:
its apply rate while it was busy (a lower bound while it was idle). The send rate is then set
to that apply rate, plus or minus what brings the lag to the setpoint within TAU_S; while the
replica keeps up, the rate is raised step by step until it does not.

Pure arithmetic on readings handed in: no database, no clock of its own, so it is tested on a
simulated replica as well as on a real one."""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass

# The lag is aimed at this fraction of the target: the heartbeat reads lag to +-0.1 s and a
# reading is up to 0.5 s old, so aiming at the target itself would put half the time above it.
SETPOINT_FRACTION = 0.5
PERIOD_FRACTION = 0.25  # a chunk stands for this fraction of the target in sending time
TAU_S = 1.0  # a lag away from the setpoint is brought back over about this long
# Above this the replica has a backlog: a paced run's heartbeat (every 50 ms) reads lag to
# +-25 ms, and a poll round takes a few ms more.
BUSY_LAG_S = 0.06
WINDOW_S = (0.6, 2.5)  # apply rates are measured over windows this long
START_SECONDS_PER_CHUNK = 0.25
GROW_PER_READING = 0.4  # rate x (1 + this) at most per reading while the replica keeps up
PROBE_OVER_KNOWN = 0.25  # while it keeps up, send at most this much over its last known rate
MIN_RATE = 200.0  # rows/s: never so slow that a pause is the whole run
MIN_CHUNK, MAX_CHUNK = 50, 200_000
WEIGHT = 0.75  # pt-online-schema-change's weighted average of rows per second (--chunk-time)
COMMITS_KEPT = 5000


@dataclass(frozen=True)
class PaceState:
    """What the Jobs screen and the run's record show of the controller."""

    mode: str  # "target lag", "chunk time", or both joined with " + "
    chunk_rows: int
    rate_rows_s: float | None  # the send rate it paces to; None = as fast as the primary goes
    primary_rows_s: float | None  # what a chunk does on the primary (weighted average)
    replica_rows_s: float | None  # the replicas' apply rate, measured
    lag_s: float | None
    target_lag_s: float | None
    chunk_time_s: float | None
    note: str  # why the rate is what it is, in a few words

    def line(self) -> str:
        parts = [f"chunk {self.chunk_rows:,} rows"]
        if self.rate_rows_s is not None:
            parts.append(f"pacing to {self.rate_rows_s:,.0f} rows/s")
        if self.replica_rows_s is not None:
            parts.append(f"replica applies ~{self.replica_rows_s:,.0f} rows/s")
        if self.target_lag_s is not None:
            lag = "?" if self.lag_s is None else f"{self.lag_s:.2f}"
            parts.append(f"lag {lag} s / target {self.target_lag_s:g} s")
        if self.chunk_time_s is not None:
            parts.append(f"chunk time {self.chunk_time_s:g} s")
        return f"{self.mode}: " + ", ".join(parts) + (f" ({self.note})" if self.note else "")


class Pacer:
    def __init__(
        self,
        batch_size: int,
        *,
        target_lag_s: float | None = None,
        chunk_time_s: float | None = None,
    ) -> None:
        self.target_lag_s = target_lag_s
        self.chunk_time_s = chunk_time_s
        self._chunk = max(MIN_CHUNK, min(MAX_CHUNK, batch_size))
        self._avg_rows = 0.0  # weighted sums, as pt-online-schema-change's WeightedAvgRate
        self._avg_seconds = 0.0
        self.rate: float | None = None
        self.replica_rows_s: float | None = None
        self.lag_s: float | None = None
        self.note = "starting"
        self._busy_until = -math.inf  # the last time the apply rate was measured at capacity
        self._times: deque[float] = deque(maxlen=COMMITS_KEPT)  # commit time of each chunk
        self._totals: deque[int] = deque(maxlen=COMMITS_KEPT)  # rows committed by then
        self._applied: deque[tuple[float, float, float]] = deque()  # (at, rows applied, lag)
        self._last_reading_at = -math.inf

    # -- what the run asks -------------------------------------------------------------------------

    @property
    def setpoint_s(self) -> float | None:
        return None if self.target_lag_s is None else self.target_lag_s * SETPOINT_FRACTION

    @property
    def period_s(self) -> float:
        """How much sending a chunk stands for under the lag target. A replica applies a chunk
        as one transaction and every heartbeat written meanwhile waits behind it, so the lag
        saws up by one chunk's apply time: a quarter of the target, on top of the setpoint."""
        return max(0.05, min(0.5, (self.target_lag_s or 1.0) * PERIOD_FRACTION))

    def chunk_rows(self) -> int:
        size = self._chunk
        if self.target_lag_s is not None and self.rate is not None:
            size = int(self.rate * self.period_s)
        if self.chunk_time_s is not None and self.primary_rows_s is not None:
            by_time = int(self.primary_rows_s * self.chunk_time_s)
            size = by_time if self.target_lag_s is None else min(size, by_time)
        return max(MIN_CHUNK, min(MAX_CHUNK, size))

    def delay_after(self, rows: int, seconds: float) -> float:
        """The pause after a chunk of `rows` that took `seconds`, to hold the paced rate."""
        if self.target_lag_s is None or self.rate is None or self.rate <= 0:
            return 0.0
        return max(0.0, min(5.0, rows / self.rate - seconds))

    @property
    def primary_rows_s(self) -> float | None:
        return self._avg_rows / self._avg_seconds if self._avg_seconds > 0 else None

    def reset_chunk(self, batch_size: int) -> None:
        """The operator set the chunk size: start again from it."""
        self._chunk = max(MIN_CHUNK, min(MAX_CHUNK, batch_size))
        self._avg_rows = self._avg_seconds = 0.0
        if self.target_lag_s is not None:
            self.rate = self._chunk / self.period_s

    def set_target(self, target_lag_s: float | None) -> None:
        self.target_lag_s = target_lag_s
        if target_lag_s is None:
            self.rate = None

    # -- what the run tells it ---------------------------------------------------------------------

    def committed(self, rows: int, seconds: float, at: float) -> None:
        """A chunk of `rows` committed at `at` (unix time) after `seconds` on the primary."""
        if rows > 0 and seconds > 0:
            self._avg_rows = self._avg_rows * WEIGHT + rows
            self._avg_seconds = self._avg_seconds * WEIGHT + seconds
        total = (self._totals[-1] if self._totals else 0) + rows
        self._times.append(at)
        self._totals.append(total)
        if self.target_lag_s is not None and self.rate is None:
            self.rate = self._start_rate()

    def observe(self, at: float, lag_s: float | None) -> None:
        """A reading of the worst replica lag taken at `at`; None: no replica to pace to."""
        if at <= self._last_reading_at or self.target_lag_s is None:
            return
        self._last_reading_at = at
        self.lag_s = lag_s
        if lag_s is None:
            self.rate, self.note = None, "no replica: nothing to pace to"
            return
        applied = self._committed_by(at - lag_s)
        if applied is not None:
            self._measure(at, applied, lag_s)
        self._steer(at, lag_s)

    def state(self) -> PaceState:
        modes = [m for m, on in (("target lag", self.target_lag_s), ("chunk time",
                                 self.chunk_time_s)) if on is not None]
        return PaceState(
            mode=" + ".join(modes) or "fixed",
            chunk_rows=self.chunk_rows(),
            rate_rows_s=self.rate,
            primary_rows_s=self.primary_rows_s,
            replica_rows_s=self.replica_rows_s,
            lag_s=self.lag_s,
            target_lag_s=self.target_lag_s,
            chunk_time_s=self.chunk_time_s,
            note=self.note if self.target_lag_s is not None else "",
        )

    # -- the controller ----------------------------------------------------------------------------

    def _committed_by(self, when: float) -> float | None:
        """Rows committed at or before `when`; None when that is before what is kept."""
        if not self._times:
            return 0.0
        index = bisect.bisect_right(self._times, when)
        if index == 0:
            return 0.0 if len(self._times) < COMMITS_KEPT else None
        return float(self._totals[index - 1])

    def _measure(self, at: float, applied: float, lag_s: float) -> None:
        self._applied.append((at, applied, lag_s))
        while self._applied and self._applied[0][0] < at - WINDOW_S[1]:
            self._applied.popleft()
        old_enough = [s for s in self._applied if at - s[0] >= WINDOW_S[0]]
        if not old_enough:
            return
        if lag_s > BUSY_LAG_S:
            # A backlog now: over the whole window the replica applied as fast as it can (a
            # lower bound if it was idle early in the window, which probing corrects).
            start = old_enough[0]
            rate = (applied - start[1]) / (at - start[0])
            old = self.replica_rows_s
            self.replica_rows_s = rate if old is None else 0.5 * old + 0.5 * rate
            self._busy_until = at
            return
        # It keeps up: it can do at least what it applied lately (the shortest window, so a
        # faster replica is found quickly).
        start = old_enough[-1]
        rate = (applied - start[1]) / (at - start[0])
        if self.replica_rows_s is None or rate > self.replica_rows_s:
            self.replica_rows_s = rate

    def _start_rate(self) -> float:
        """A start that no replica of a production kind falls behind (a chunk every half
        second); probing finds the real rate within a few seconds."""
        return max(MIN_RATE, self._chunk / START_SECONDS_PER_CHUNK)

    def _steer(self, at: float, lag_s: float) -> None:
        setpoint = self.setpoint_s
        assert setpoint is not None
        rate = self.rate if self.rate is not None else self._start_rate()
        known = self.replica_rows_s
        if lag_s <= setpoint:
            new = rate * (1 + GROW_PER_READING * (setpoint - lag_s) / setpoint)
            if known is not None and self._busy_until > -math.inf:
                # Lately at capacity: probe only a little past what it was measured to apply.
                new = min(new, known * (1 + PROBE_OVER_KNOWN * (setpoint - lag_s) / setpoint))
                self.note = "replica keeps up: probing above its measured rate"
            else:
                if known is not None:  # never more than twice what it was seen to apply
                    new = min(new, 2 * known)
                self.note = "replica keeps up: raising the rate"
        elif known is not None:
            # Over the setpoint: send below the apply rate by what drains the excess in TAU_S.
            new = known * max(0.1, 1 - (lag_s - setpoint) / TAU_S)
            self.note = "over the setpoint: below the replica's rate to drain it"
        else:
            new = rate * max(0.3, setpoint / lag_s)
            self.note = "over the setpoint: slowing"
        primary = self.primary_rows_s
        if primary is not None:
            # Faster than a chunk goes on the primary means nothing but bigger chunks.
            new = min(new, primary * (1 + PROBE_OVER_KNOWN))
        self.rate = max(MIN_RATE, new)
