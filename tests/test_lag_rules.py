"""The lag rules without a server: heartbeat correction and catch-up rate, table-driven."""

from __future__ import annotations

import pytest

from clustertop.collectors.lag import (
    WAITING_FOR_FIRST_HEARTBEAT,
    LagEstimate,
    catchup_rate,
    heartbeat_lag,
)

STARTED = 1_000.0  # when our writer first wrote (source clock)


@pytest.mark.parametrize(
    ("applied_at", "age_s", "started", "interval", "shared", "expected"),
    [
        # Caught up: the newest heartbeat is less than one interval old; the lag lies between
        # 0 and the age, shown as half the age.
        (STARTED + 50, 0.1, STARTED, 0.2, False, LagEstimate(0.05)),
        (STARTED + 50, 0.2, STARTED, 0.2, False, LagEstimate(0.1)),
        # Behind: between age - interval and age; the middle of that range.
        (STARTED + 50, 3.0, STARTED, 0.2, False, LagEstimate(2.9)),
        (STARTED + 50, 3.0, STARTED, 1.0, False, LagEstimate(2.5)),
        (STARTED, 0.0, STARTED, 0.2, False, LagEstimate(0.0)),
        # A heartbeat from before our writer (a stopped IO thread since): at least the time
        # since our first write, said as a lower bound - never the stale row's small age.
        (STARTED - 60, 75.0, STARTED, 0.2, False, LagEstimate(15.0, lower_bound=True)),
        (STARTED - 60, 30.0, STARTED, 0.2, False, LagEstimate(0.0, lower_bound=True)),
        # ... unless another writer (pt-heartbeat, another clustertop) kept the row fresh before
        # ours started: then the old heartbeat's age is the lag, at once.
        (STARTED - 60, 75.0, STARTED, 0.2, True, LagEstimate(75.0)),
        # Our writer has not written yet: unknown, and why.
        (STARTED, 1.0, None, 0.2, False, LagEstimate(None, error=WAITING_FOR_FIRST_HEARTBEAT)),
    ],
)
def test_heartbeat_lag(
    applied_at: float,
    age_s: float,
    started: float | None,
    interval: float,
    shared: bool,
    expected: LagEstimate,
) -> None:
    got = heartbeat_lag(applied_at, age_s, started, interval, shared=shared)
    assert got.lower_bound == expected.lower_bound and got.error == expected.error
    if expected.lag_s is None:
        assert got.lag_s is None
    else:
        assert got.lag_s == pytest.approx(expected.lag_s)


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        ([(0.0, 10.0), (5.0, 5.0)], 1.0),  # catching up one second per second
        ([(0.0, 1.0), (2.0, 3.0)], -1.0),  # falling behind
        ([(0.0, 2.0), (1.0, 2.0), (4.0, 2.0)], 0.0),  # steady
        ([(0.0, 2.0), (0.5, 1.0)], None),  # too short a span to say
        ([(0.0, 2.0)], None),
        ([], None),
    ],
)
def test_catchup_rate(points: list[tuple[float, float]], expected: float | None) -> None:
    got = catchup_rate(points)
    assert got == (pytest.approx(expected) if expected is not None else None)
