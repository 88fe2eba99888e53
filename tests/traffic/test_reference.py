"""The kernel's car-following laws equal the plain-Python reference written from their
definitions (:mod:`twin.traffic.reference`); runs under ``NUMBA_DISABLE_JIT=1`` too."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin.traffic import kernels, reference

decels = st.floats(1.0, 9.0)
steps = st.sampled_from([0.1, 0.25, 0.5, 1.0])


@given(speed=st.floats(0.0, 60.0), decel=decels, dt=steps)
def test_brake_gap_is_the_sum_of_the_euler_steps(speed, decel, dt):
    assert kernels.brake_gap(speed, decel, dt) == pytest.approx(
        reference.brake_gap(speed, decel, dt), rel=1e-9, abs=1e-9
    )


@given(gap=st.floats(0.0, 500.0), decel=decels, tau=st.floats(0.2, 2.0), dt=steps)
def test_stop_speed_is_the_largest_speed_that_stops_in_the_gap(gap, decel, tau, dt):
    assert kernels.stop_speed(gap, decel, tau, dt) == pytest.approx(
        reference.stop_speed(gap, decel, tau, dt), abs=1e-6
    )


@given(
    v=st.floats(0.0, 40.0),
    v_leader=st.floats(0.0, 40.0),
    gap=st.floats(0.0, 300.0),
    decel=decels,
    dt=steps,
)
def test_safe_speed_stops_behind_a_braking_leader(v, v_leader, gap, decel, dt):
    assert kernels.safe_speed(v, v_leader, gap, decel, 1.0, dt) == pytest.approx(
        reference.safe_speed(v_leader, gap, decel, 1.0, dt), abs=1e-6
    )


@given(
    speed=st.floats(0.0, 40.0),
    accel=st.floats(0.5, 5.0),
    decel=st.floats(1.0, 9.0),
    extra=st.floats(0.0, 5.0),
    sigma=st.floats(0.0, 1.0),
    allowed=st.floats(0.1, 40.0),
    limit=st.one_of(st.floats(0.0, 60.0), st.just(math.inf)),
    cap=st.one_of(st.floats(0.0, 60.0), st.just(math.inf)),
    dt=steps,
    u=st.floats(0.0, 1.0, exclude_max=True),
)
def test_krauss_update_equals_the_reference(
    speed, accel, decel, extra, sigma, allowed, limit, cap, dt, u
):
    args = (speed, accel, decel, decel + extra, sigma, allowed, limit, cap, dt, u)
    new, emergency = kernels.krauss_speed(*args)
    expected, expected_emergency = reference.krauss_speed(*args)
    assert new == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert bool(emergency) == expected_emergency
    assert 0.0 <= new <= cap
