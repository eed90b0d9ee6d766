"""Throttling: a cleanup pauses while a replica lags or the primary is busy, and aborts on a
critical load, as pt-archiver (--max-lag) and gh-ost (--max-load, --critical-load) do. Each of
these is a gate rule (`lag_s <= 1`, `primary.active <= 25`), judged by the same engine as the
Go/No-Go gate, whose own rules a run takes with --gate.

The figures come from the collectors themselves (a Poller on the cluster, heartbeat lag
included), read in a thread of their own, so a chunk never waits on a poll."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from clustertop.collectors.gate import Gate, percentile
from clustertop.collectors.poller import Poller, PollTarget
from clustertop.collectors.samples import PollRound
from clustertop.core.config import ClusterConfig
from clustertop.core.errors import InputError, OperationFailed
from clustertop.core.gate import GateRule, parse_rule

GAUGE_INTERVAL_S = 0.25
# A reading this recent stands for now: chunks do not wait for a fresh poll each (pt-archiver
# checks lag once per --check-interval the same way, 1 s by default).
FRESH_S = 0.5
LOAD_NAMES = ("threads_running", "active")  # Threads_running, or active backends on PostgreSQL


@dataclass(frozen=True)
class LoadLimit:
    name: str
    value: float

    def __str__(self) -> str:
        return f"{self.name}={self.value:g}"


def parse_load_limit(text: str, where: str) -> LoadLimit:
    """`Threads_running=25` (MySQL's name) or `active=25` (active backends)."""
    name, _, value = text.partition("=")
    if name.strip().lower() not in LOAD_NAMES:
        raise InputError(where, text, "must be Threads_running=N or active=N")
    try:
        number = float(value)
    except ValueError:
        raise InputError(where, text, "must be Threads_running=N or active=N") from None
    if number <= 0:
        raise InputError(where, text, "the limit must be more than 0")
    return LoadLimit(name.strip(), number)


class CriticalLoad(OperationFailed):
    """An abort rule tripped (--critical-load, or the gate's abort rules with --gate): the run
    stops (what it removed stays removed)."""


@dataclass(frozen=True)
class Reading:
    at: float
    lag_s: float | None  # worst replica lag; None when there is no replica
    lag_unknown: str | None  # a replica whose lag cannot be read, and why
    active: int | None  # the primary's running threads / active backends
    hold: str | None = None  # the first pause rule that blocks, and why
    abort: str | None = None  # the first abort rule that trips, and why
    # Every unknown lag is a replica not yet showing the first heartbeat: behind, by lag_s or more.
    only_behind: bool = False


def _first_blocking(gate: Gate | None, round_: PollRound) -> str | None:
    return (gate.judge(round_).reason() or None) if gate is not None else None


SESSION_METRICS = frozenset({"oldest_transaction_s", "blocked_sessions"})


def needs_sessions(*rule_sets: Sequence[GateRule]) -> bool:
    return any(rule.metric in SESSION_METRICS for rules in rule_sets for rule in rules)


class ClusterGauge:
    """Worst replica lag and the primary's load, refreshed every GAUGE_INTERVAL_S, and the
    run's pause and abort rules judged on each round (one rule engine: the gate's)."""

    def __init__(
        self,
        cluster: ClusterConfig,
        primary: str,
        *,
        heartbeat_interval: float | None = None,
        pause_rules: Sequence[GateRule] = (),
        abort_rules: Sequence[GateRule] = (),
    ) -> None:
        targets = [
            PollTarget(
                spec=node,
                connect_timeout=cluster.connect_timeout,
                statement_timeout=cluster.statement_timeout,
                heartbeat_table=cluster.heartbeat_table if cluster.heartbeat else None,
                # A finer heartbeat when a run steers by the lag; the monitor's own otherwise.
                heartbeat_interval=heartbeat_interval or PollTarget.heartbeat_interval,
                watched_tables=(),
                detail_interval=1e9,  # table details are not what throttling needs
                detail_timeout=1.0,
                # Only what the rules read: a gauge that reads every backend's session, or
                # forks a backend every 2 s for an admission probe, is a load of its own on
                # the primary it protects (bench/RESULTS.md, the partition_drop p99).
                probe_interval=None,
                read_sessions=needs_sessions(pause_rules, abort_rules),
            )
            for node in cluster.nodes
        ]
        self.cluster = cluster.name
        self.primary = primary
        self.poller = Poller(targets)
        self.latest: Reading | None = None
        self.lags: list[float] = []  # every reading's worst lag, for max and mean
        self._gates: tuple[Gate | None, Gate | None] = (None, None)
        self.set_rules(pause_rules, abort_rules)
        self._stop = threading.Event()
        self._fresh = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="cleanup-gauge", daemon=True)

    def set_rules(self, pause: Sequence[GateRule], abort: Sequence[GateRule]) -> None:
        """Judge these from the next round on (a live change of --max-lag)."""
        self._gates = (Gate(self.cluster, pause) if pause else None,
                       Gate(self.cluster, abort) if abort else None)

    @property
    def has_rules(self) -> bool:
        return any(g is not None for g in self._gates)

    def start(self) -> ClusterGauge:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.poller.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            reading = self._read(self.poller.poll_round())
            with self._fresh:
                self.latest = reading
                if reading.lag_s is not None:
                    self.lags.append(reading.lag_s)
                self._fresh.notify_all()
            self._stop.wait(max(0.0, GAUGE_INTERVAL_S - (time.monotonic() - started)))

    def _read(self, round_: PollRound) -> Reading:
        lags: list[float] = []
        unknown = None
        only_behind = True
        active = None
        for node in round_.nodes:
            if node.node == self.primary:
                active = node.active
                continue
            if not node.up:
                unknown = f"{node.node} is down ({node.error})"
                only_behind = False
                continue
            for rep in node.replication:
                if rep.lag_s is None:
                    unknown = f"{node.node}: replication lag unknown"
                    only_behind = False
                elif rep.heartbeat_lower_bound:
                    unknown = (
                        f"{node.node} has not applied the first heartbeat yet "
                        f"(behind by {rep.lag_s:.1f} s or more)"
                    )
                    lags.append(rep.lag_s)
                else:
                    lags.append(rep.lag_s)
        pause, abort = self._gates
        return Reading(round_.at, max(lags) if lags else None, unknown, active,
                       _first_blocking(pause, round_), _first_blocking(abort, round_),
                       only_behind=unknown is not None and only_behind)

    def reading(self, newer_than: float = 0.0, timeout: float = 5.0) -> Reading | None:
        """The latest reading taken after `newer_than` (unix time), waiting for one."""
        deadline = time.monotonic() + timeout
        with self._fresh:
            while self.latest is None or self.latest.at <= newer_than:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._fresh.wait(left)
            return self.latest

    def wait_caught_up(
        self, below_s: float = 0.5, timeout: float = 300.0, cancelled: Callable[[], bool] = bool
    ) -> bool:
        """Wait until every replica's lag is known and under `below_s`: whatever ran before (a
        load, another method) must not count against what runs next."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not cancelled():
            reading = self.reading(newer_than=time.time(), timeout=GAUGE_INTERVAL_S * 8)
            if reading and reading.lag_unknown is None and (reading.lag_s or 0.0) < below_s:
                return True
        return False

    def wait_applied(
        self,
        committed_at: float,
        timeout: float,
        cancelled: Callable[[], bool] = bool,
        seen_lag: Callable[[float, float], object] = lambda at, lag: None,
    ) -> float | None:
        """Wait until every replica has applied what the primary committed by `committed_at`
        (unix time), reading lag all the while: a run's last chunk lags the replicas after the
        run has ended, and that lag is the run's too. A reading taken at t with lag L says the
        replicas hold everything committed up to t - L. Returns the time that was first seen,
        or None: no replica, a lag that cannot be read, cancelled, or not within `timeout`.
        `seen_lag(at, lag)` is told each reading's lag (a job charts it)."""
        deadline = time.monotonic() + timeout
        seen = committed_at
        while time.monotonic() < deadline and not cancelled():
            reading = self.reading(newer_than=seen, timeout=GAUGE_INTERVAL_S * 8)
            if reading is None or reading.at <= seen:
                continue  # no fresh round yet (a slow poll): wait on
            seen = reading.at
            if reading.lag_s is not None:
                seen_lag(reading.at, reading.lag_s)
            if reading.only_behind:
                continue  # a replica has not applied the heartbeat yet: not caught up
            if reading.lag_unknown is not None or reading.lag_s is None:
                return None
            if reading.at - reading.lag_s >= committed_at:
                return reading.at
        return None

    @property
    def max_lag_s(self) -> float | None:
        return max(self.lags) if self.lags else None

    def lag_percentile(self, percent: float) -> float | None:
        """Nearest-rank percentile of every reading's worst lag."""
        return percentile(self.lags, percent) if self.lags else None

    @property
    def mean_lag_s(self) -> float | None:
        return sum(self.lags) / len(self.lags) if self.lags else None


def run_rules(
    *,
    max_lag_s: float | None,
    max_load: LoadLimit | None,
    critical_load: LoadLimit | None,
    cluster: ClusterConfig | None = None,
) -> tuple[tuple[GateRule, ...], tuple[GateRule, ...]]:
    """A run's flags as gate rules: what pauses it (--max-lag, --max-load, and with --gate the
    cluster's gate rules) and what aborts it (--critical-load, and the gate's abort rules)."""
    pause: list[GateRule] = []
    abort: list[GateRule] = []
    if max_lag_s is not None:
        pause.append(parse_rule(f"lag_s <= {max_lag_s:g}", "--max-lag"))
    if max_load is not None:
        pause.append(parse_rule(f"primary.active <= {max_load.value:g}", "--max-load"))
    if critical_load is not None:
        abort.append(parse_rule(f"primary.active < {critical_load.value:g}", "--critical-load"))
    if cluster is not None:
        pause += cluster.gate_rules
        abort += cluster.abort_rules
    return tuple(pause), tuple(abort)


@dataclass
class Throttle:
    """Holds a run at its chunk boundaries while a pause rule blocks; an abort rule ends it."""

    gauge: ClusterGauge
    needs_lag: bool = False  # paced to a lag target: an unknown lag holds the run too
    pauses: int = 0
    paused_s: float = 0.0

    def why_wait(self, reading: Reading | None) -> str | None:
        if reading is None:
            return "no reading of the cluster yet"
        if reading.abort:
            raise CriticalLoad(f"abort rule {reading.abort}")
        if self.needs_lag and reading.lag_unknown:
            return reading.lag_unknown
        return reading.hold

    def wait_until_clear(
        self, *, cancelled: Callable[[], bool], say: Callable[[str], None]
    ) -> None:
        """Block while a rule holds the run, judged on a reading at most FRESH_S old."""
        if not self.gauge.has_rules and not self.needs_lag:
            return
        reading = self.gauge.reading(newer_than=time.time() - FRESH_S)
        reason = self.why_wait(reading)
        if reason is None:
            return
        self.pauses += 1
        started = time.monotonic()
        say(f"paused: {reason}")
        while reason is not None:
            if cancelled():
                break
            newer = reading.at if reading else 0.0
            reading = self.gauge.reading(newer_than=newer, timeout=GAUGE_INTERVAL_S * 4)
            reason = self.why_wait(reading)
        waited = time.monotonic() - started
        self.paused_s += waited
        say(f"resumed after {waited:.1f} s")
