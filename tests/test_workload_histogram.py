"""The latency histogram: percentiles within 1% of the exact ones, whatever the shape."""

from __future__ import annotations

import math
import random

import pytest

from clustertop.actions.workload.histogram import Histogram


def exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@pytest.mark.parametrize("shape", ["uniform", "lognormal", "bimodal"])
def test_percentiles_within_one_percent(shape: str) -> None:
    rng = random.Random(7)
    if shape == "uniform":
        values = [rng.uniform(50, 5000) for _ in range(50_000)]
    elif shape == "lognormal":
        values = [rng.lognormvariate(6, 1.2) for _ in range(50_000)]
    else:
        values = [rng.gauss(300, 20) if rng.random() < 0.97 else rng.gauss(200_000, 5_000)
                  for _ in range(50_000)]
    h = Histogram.of(values)
    for q in (50, 90, 95, 99, 99.9):
        got = h.percentile(q)
        want = exact(values, q)
        assert got is not None and abs(got - want) <= 0.01 * want, (q, got, want)
    assert h.percentile(100) == max(values)
    assert h.mean_us == pytest.approx(sum(values) / len(values))


def test_merging_is_the_same_as_recording_everything_in_one() -> None:
    rng = random.Random(3)
    parts = [[rng.expovariate(1 / 800) + 1 for _ in range(5000)] for _ in range(4)]
    merged = Histogram()
    for part in parts:
        merged.merge(Histogram.of(part))
    whole = Histogram.of([v for part in parts for v in part])
    assert merged.counts == whole.counts and merged.total == whole.total == 20_000
    assert merged.percentile(99) == whole.percentile(99)


def test_empty_histogram_has_no_percentiles() -> None:
    assert Histogram().percentile(50) is None
    assert Histogram().mean_us is None
