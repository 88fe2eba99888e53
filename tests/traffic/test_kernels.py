"""The vehicle kernel: compiled code equals its own Python source; braking laws.

Here the comparison is with the kernel's own Python source run by the interpreter
(``step.py_func``), on a copy of the same state: it checks that compilation (typing,
integer and float semantics, in-place updates through the named tuples) changes
nothing. The independent plain-Python reference of the car-following laws is
``twin.traffic.reference`` (``test_reference.py``). This file also runs under
``NUMBA_DISABLE_JIT=1`` (``make test``).
"""

from __future__ import annotations

import copy
from collections import namedtuple

import numba
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.traffic.support import Erratic, small_city
from twin.traffic.kernels import (
    ARRIVALS_THIS_TICK,
    VEHICLES_ON_NETWORK,
    WAITING_TRIPS,
    brake_gap,
    mark_occupied,
    next_occupied,
    occupied_words,
    safe_speed,
    step,
    stop_speed,
)

JIT = not numba.config.DISABLE_JIT


def snapshot(city):
    return tuple(copy.deepcopy(x) for x in (city.lanes, city.veh, city.pending, city.counters))


@settings(max_examples=8 if JIT else 2, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    rows=st.integers(1, 3 if JIT else 1),
    lanes=st.integers(1, 2),
    rate=st.floats(0.1, 2.0),
    warm_ticks=st.integers(20, 200 if JIT else 40),
)
def test_compiled_kernel_equals_python_reference(seed, rows, lanes, rate, warm_ticks):
    world, city = small_city(seed, rows, 2, lanes, rate, horizon_s=300.0, policy=Erratic(seed))
    world.env.run(until=float(warm_ticks))
    rng = np.random.default_rng(seed)
    for k in range(5):
        now = float(world.env.now) + k
        city.signals.update(now)
        dawdle = rng.random(
            max(int(city.counters[VEHICLES_ON_NETWORK] + city.counters[WAITING_TRIPS]), 1)
        )
        states = []
        # Without the JIT (NUMBA_DISABLE_JIT=1) both are the plain Python function.
        for kernel in (step, getattr(step, "py_func", step)):
            lanes, veh, pending, counters = snapshot(city)
            lc = copy.deepcopy(city.lane_change)
            transfer = copy.deepcopy(city.transfer)
            stops = copy.deepcopy(city.stops)
            arrived = np.zeros_like(city.arrived)
            kernel(
                city.net, lanes, veh, city.vt, city.mov_state, city.emission, dawdle,
                pending, counters, arrived, now, city.step_s, city.departs, lc, transfer,
                stops,
            )  # fmt: skip
            states.append((lanes, veh, pending, counters, arrived))
        (l1, v1, p1, c1, a1), (l2, v2, p2, c2, a2) = states
        for x, y in zip((*l1, *v1), (*l2, *v2), strict=True):
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-9, equal_nan=True)
        np.testing.assert_array_equal(c1, c2)
        np.testing.assert_array_equal(p1[: c1[WAITING_TRIPS]], p2[: c2[WAITING_TRIPS]])
        np.testing.assert_array_equal(a1[: c1[ARRIVALS_THIS_TICK]], a2[: c2[ARRIVALS_THIS_TICK]])
        # Carry on from the compiled result.
        for target, source in zip((*city.lanes, *city.veh), (*l1, *v1), strict=True):
            target[...] = source
        city.pending[:] = p1
        city.counters[:] = c1


@settings(max_examples=200 if JIT else 50, deadline=None)
@given(
    gap=st.floats(0.0, 300.0),
    decel=st.floats(1.0, 9.0),
    tau=st.floats(0.5, 2.0),
    dt=st.sampled_from([0.25, 0.5, 1.0]),
)
def test_stop_speed_stops_within_the_gap_braking_comfortably(gap, decel, tau, dt):
    x = stop_speed(gap, decel, tau, dt)
    assert x >= 0.0
    # Reaction at x for tau, then the Euler braking sequence: covers at most the gap.
    covered = x * tau + brake_gap(x, decel, dt)
    assert covered <= gap + 1e-6
    # And it is the largest such speed (a little faster would not stop in time).
    faster = x + 1e-3
    assert faster * tau + brake_gap(faster, decel, dt) > gap - 1e-6


@given(v=st.floats(0.0, 30.0), decel=st.floats(1.0, 9.0), dt=st.sampled_from([0.5, 1.0]))
def test_safe_speed_behind_a_stopped_leader_is_the_stop_speed(v, decel, dt):
    assert safe_speed(v, 0.0, 25.0, decel, 1.0, dt) == stop_speed(25.0, decel, 1.0, dt)
    # A faster leader leaves more room.
    assert safe_speed(v, 10.0, 25.0, decel, 1.0, dt) > stop_speed(25.0, decel, 1.0, dt)


_Walk = namedtuple("_Walk", "head occupied")
"""The two ``Lanes`` fields the walk reads."""


@settings(max_examples=50 if JIT else 20, deadline=None)
@given(
    n_lanes=st.integers(1, 200),
    marked=st.lists(st.integers(0, 199), max_size=40),
    start=st.integers(0, 210),
)
def test_next_occupied_finds_the_first_marked_lane_from_start(n_lanes, marked, start):
    marked = sorted({lane for lane in marked if lane < n_lanes})
    expected = next((lane for lane in marked if lane >= start), n_lanes)
    # Compiled and as plain Python (the same function without the JIT).
    for mark, find in (
        (mark_occupied, next_occupied),
        (
            getattr(mark_occupied, "py_func", mark_occupied),
            getattr(next_occupied, "py_func", next_occupied),
        ),
    ):
        lanes = _Walk(np.full(n_lanes, -1, dtype=np.int64), occupied_words(n_lanes))
        for lane in marked:
            mark(lanes, lane)
        assert find(lanes, start) == expected
