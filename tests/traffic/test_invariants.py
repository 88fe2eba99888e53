"""Invariants of the running city under generated grids, demands and signal policies.

Every tick of every generated city is checked: vehicles are conserved, no vehicle
overlaps its leader, speeds stay in [0, allowed], no vehicle crosses a red stop line,
and no two conflicting movements are ever green together, whatever the policy asks.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.traffic.support import Erratic, small_city
from twin.traffic.kernels import (
    ARRIVED,
    DRIVING,
    OCCUPIED_BITS,
    OFF,
    PENDING,
    PROTECTED,
    RED,
    STATE_LETTERS,
    VEHICLES_ON_NETWORK,
    WAITING,
    WAITING_TRIPS,
    YELLOW,
)
from twin.traffic.signals import SignalBank

EPS = 1e-6


def check_tick(city, lane_before, next_before) -> None:
    veh, lanes, arrays = city.veh, city.lanes, city.arrays
    state = veh.state
    released = int(np.sum(state != PENDING))
    # Conservation: released = arrived + on network + waiting to be inserted.
    assert released == (
        np.sum(state == ARRIVED) + np.sum(state == DRIVING) + np.sum(state == WAITING)
    )
    assert city.counters[VEHICLES_ON_NETWORK] == np.sum(state == DRIVING)
    assert city.counters[WAITING_TRIPS] == np.sum(state == WAITING)
    assert int(lanes.count.sum()) == int(np.sum(state == DRIVING))
    # Every lane that holds a vehicle is marked, so the kernel's walks reach it.
    held = np.flatnonzero(lanes.head >= 0)
    words = lanes.occupied[held // OCCUPIED_BITS]
    assert np.all((words >> (held % OCCUPIED_BITS)) & 1 == 1)
    driving = np.flatnonzero(state == DRIVING)
    # No overlap: every follower's front is behind its leader's back.
    ahead = veh.ahead[driving]
    has = ahead >= 0
    backs = veh.pos[ahead[has]] - city.vt.length[veh.vtype[ahead[has]]]
    assert np.all(veh.pos[driving[has]] <= backs + EPS)
    assert np.all(veh.lane[ahead[has]] == veh.lane[driving[has]])
    # Speeds within [0, the vehicle's own top speed and the lane's limit x its factor].
    speed = veh.speed[driving]
    allowed = np.minimum(
        arrays.lane_speed_mps[veh.lane[driving]] * veh.speed_factor[driving],
        city.vt.vmax[veh.vtype[driving]],
    )
    assert np.all(speed >= 0.0)
    assert np.all(speed <= allowed + EPS)
    assert np.all(veh.pos[driving] <= arrays.lane_length_m[veh.lane[driving]] + EPS)
    # Never across a red stop line: a vehicle that left an edge lane this tick for a
    # junction entered a movement that was not red (a lane change stays on the edge).
    edge_now = np.where(veh.lane >= 0, arrays.lane_edge[veh.lane], -2)
    edge_before = np.where(lane_before >= 0, arrays.lane_edge[lane_before], -3)
    moved = np.flatnonzero(
        (lane_before >= 0) & (veh.lane != lane_before) & (edge_now != edge_before)
    )
    for v in moved:
        if arrays.lane_movement[lane_before[v]] < 0 and next_before[v] >= 0:
            m = arrays.lane_movement[next_before[v]]
            assert city.mov_state[m] != RED, f"vehicle {v} passed a red stop line"


def safe_pairs(state, inter) -> np.ndarray:
    # Every state but red and yellow may go, giving way to the foes it yields to.
    green = (state != RED) & (state != YELLOW)
    return ~inter.conflicts(green, (state == PROTECTED) | (state == OFF))


def check_greens(bank: SignalBank) -> None:
    for i, inter in enumerate(bank.intersections):
        state = bank.mov_state[bank.movements[i]]
        # Two green movements (protected or permissive) never conflict.
        assert np.all(safe_pairs(state, inter))
        # A yellow movement only shares the junction with greens it was safely green with
        # in some phase of the programme (it is clearing, not starting).
        codes = [np.array([STATE_LETTERS.index(c) for c in p.state]) for p in inter.program.phases]
        allowed = np.zeros_like(inter.foes)
        for mapped in codes:
            both = (mapped != RED)[:, None] & (mapped != RED)[None, :]
            allowed |= both & safe_pairs(mapped, inter)
        yellow = state == YELLOW
        green = state != RED
        risky = yellow[:, None] & green[None, :] & inter.foes
        assert not np.any(risky & ~allowed)


@settings(max_examples=10, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    rows=st.integers(1, 3),
    cols=st.integers(1, 3),
    lanes=st.integers(1, 2),
    rate=st.floats(0.05, 1.5),
    step_s=st.sampled_from([0.5, 1.0]),
    erratic=st.booleans(),
)
def test_invariants_hold_every_tick(seed, rows, cols, lanes, rate, step_s, erratic):
    policy = Erratic(seed) if erratic else None
    world, city = small_city(
        seed, rows, cols, lanes, rate, horizon_s=250.0, policy=policy, step_s=step_s
    )
    for _ in range(int(300 / step_s)):
        lane_before = city.veh.lane.copy()
        next_before = city.veh.next_lane.copy()
        world.env.run(until=world.env.now + step_s)
        check_tick(city, lane_before, next_before)
        check_greens(city.signals)


def test_a_light_city_empties_and_every_trip_arrives():
    world, city = small_city(5, rate=0.2, horizon_s=600.0)
    world.run(1500.0)
    assert len(city.trips) > 60
    assert np.all(city.veh.state == ARRIVED)
    assert np.all(city.veh.arrive_s >= city.veh.insert_s)
    assert np.all(city.veh.insert_s >= city.veh.depart_s)
    kpis = city.kpis()
    assert kpis["trips_completed"].value == len(city.trips)
    assert kpis["trips_unfinished"].value == 0
    # Time loss: duration minus the ideal time; never negative, never above the duration.
    duration = city.veh.arrive_s - city.veh.insert_s
    assert np.all(city.veh.time_loss_s >= 0)
    assert np.all(city.veh.time_loss_s <= duration + 1e-9)
    assert np.all(city.veh.waiting_s <= city.veh.time_loss_s + 1e-9)


def test_spillback_a_full_exit_stops_entry_and_queues_grow_upstream():
    # Demand far above what one lane with 45 s of green per 90 s can carry.
    world, city = small_city(2, rows=1, cols=2, rate=3.0, horizon_s=900.0)
    world.run(900.0)
    kpis = city.kpis()
    assert kpis["trips_unfinished"].value > 0.3 * len(city.trips)
    assert city.counters[WAITING_TRIPS] > 0  # trips wait at the boundary: the entry lanes are full
    full = (
        city.lanes.count[: city.arrays.n_lanes] * 7.5
        >= city.arrays.lane_length_m[: city.arrays.n_lanes] - 7.5
    )
    assert full.any()
