"""Probes: counters, tallies and time-weighted levels, and the sampler's time series."""

import math

import numpy as np
import pytest
import simpy
from hypothesis import given
from hypothesis import strategies as st

from twin.core.probes import Level, Probes, Sampler, Tally


@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=200))
def test_tally_mean_and_variance_match_numpy(values):
    tally = Tally("x")
    for v in values:
        tally.observe(v)
    assert tally.count == len(values)
    assert tally.mean == pytest.approx(np.mean(values), rel=1e-9, abs=1e-6)
    assert tally.variance == pytest.approx(np.var(values, ddof=1), rel=1e-7, abs=1e-3)
    assert tally.quantile(0.5) == pytest.approx(np.median(values))


def test_empty_tally_reports_nan_not_zero():
    tally = Tally("x")
    assert np.isnan(tally.mean)
    assert np.isnan(tally.quantile(0.9))


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0


def test_level_is_time_weighted():
    clock = FakeClock()
    level = Level("q", clock)
    clock.now = 10.0
    level.set(4)  # 0 for 10 s
    clock.now = 15.0
    level.set(1)  # 4 for 5 s
    clock.now = 20.0  # 1 for 5 s
    assert level.mean() == pytest.approx((0 * 10 + 4 * 5 + 1 * 5) / 20)
    assert level.maximum == 4


def test_reset_restarts_the_average_from_the_current_level():
    clock = FakeClock()
    level = Level("q", clock, initial=3)
    clock.now = 100.0
    level.reset(100.0)
    clock.now = 110.0
    level.set(5)
    clock.now = 120.0
    assert level.mean() == pytest.approx(4.0)


def test_probe_names_are_unique():
    probes = Probes(FakeClock())
    probes.counter("a")
    with pytest.raises(ValueError, match="already exists"):
        probes.tally("a")


def test_sampler_yields_a_tidy_series():
    env = simpy.Environment()
    probes = Probes(env)
    count = probes.counter("arrivals")

    def arrivals():
        while True:
            yield env.timeout(1.0)
            count.add()

    env.process(arrivals())
    sampler = Sampler(env, probes, period_s=10.0)
    env.run(until=35.5)
    frame = sampler.frame()
    assert list(frame.columns) == ["time_s", "probe", "value"]
    assert frame["time_s"].tolist() == [10.0, 20.0, 30.0]
    # The sample at 10 s includes the arrival at 10 s.
    assert frame["value"].tolist() == [10.0, 20.0, 30.0]


def test_a_tally_without_values_keeps_count_and_mean_in_flat_memory():
    kept, counted = Tally("kept"), Tally("counted", keep_values=False)
    for x in (3.0, 1.0, 2.0, 10.0):
        kept.observe(x)
        counted.observe(x)
    assert (counted.count, counted.mean) == (kept.count, kept.mean) == (4, 4.0)
    with pytest.raises(ValueError, match="tally 'counted' keeps no values"):
        counted.quantile(0.5)
    counted.reset(0.0)
    assert counted.count == 0
    assert math.isnan(counted.mean)


def test_a_level_set_for_each_tick_of_a_batch_equals_setting_it_tick_by_tick():
    # Awkward floats (a 0.1 s tick from a non-round start): the same additions in the
    # same order, so the same bits.
    levels = [3.0, 0.0, 7.5, 7.5, 2.0, 11.0, 4.0]
    one_by_one, batched = (Level("queue", simpy.Environment(0.3)) for _ in range(2))
    t = 0.7
    for level in levels:
        one_by_one.set_at(level, t)
        t = t + 0.1
    after = batched.set_each(levels, 0.7, 0.1)
    assert after == t
    assert batched.maximum == one_by_one.maximum == 11.0
    assert batched.level == one_by_one.level == 4.0
    assert batched.integral(2.0) == one_by_one.integral(2.0)
    assert batched.mean(2.0) == one_by_one.mean(2.0)
