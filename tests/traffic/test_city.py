"""How a city books its vehicles' fuel into the ledger and gathers what its signal
policies read (``twin.traffic.city``)."""

from __future__ import annotations

import math

import numpy as np

from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig
from twin.traffic.city import City, fuel_to_book, gather_readings


def test_fuel_is_booked_carrier_by_carrier_type_by_type_in_the_given_order() -> None:
    # Types: 0 diesel, 1 petrol, 2 no fuel (an electric car), 3 diesel.
    density = np.array([832.0, 745.0, math.inf, 832.0])
    carrier = np.array([0, 1, -1, 0])  # carriers: 0 diesel, 1 petrol
    vtype = np.array([3, 1, 0, 2, 0, 1, 3])
    fuel_mg = np.array([8320.0, 7450.0, 1664.0, 500.0, 832.0, 0.0, 4160.0])
    booked_mg = np.zeros(7)
    booked_mg[4] = 832.0  # vehicle 4's fuel is booked already
    vehicles = np.array([6, 5, 4, 3, 2, 1, 0])
    order, litres = np.empty(7, dtype=np.int64), np.empty(7)
    bounds = np.zeros(3, dtype=np.int64)
    fuel_to_book(vehicles, fuel_mg, booked_mg, vtype, density, carrier, order, litres, bounds)
    # Diesel: type 0 (vehicle 2), then type 3 in the given order (6, then 0); petrol: 1.
    assert bounds.tolist() == [0, 3, 4]
    assert order[:4].tolist() == [2, 6, 0, 1]
    assert litres[:4].tolist() == [1664.0 / 1000.0 / 832.0, 4160.0 / 1000.0 / 832.0, 0.01, 0.01]
    # What was unbooked is booked now, the electric car's included (it burned nothing).
    assert booked_mg.tolist() == fuel_mg.tolist()


def test_readings_are_each_movements_lane_its_target_edges_mean_and_its_loops() -> None:
    # Lanes 0-3; movement 0 leaves lane 1 for lanes 2 and 3, movement 1 leaves lane 0
    # for lane 3.
    halting, count = np.array([1, 2, 0, 0]), np.array([3, 4, 5, 8])
    det_last_s = np.array([[0.0, 4.0], [0.0, 7.5], [0.0, 0.0], [0.0, 0.0]])
    det_count = np.array([[6, 0], [9, 0], [0, 0], [0, 0]])  # stop-line column 0
    loops = [np.arange(8.0) + 10 * q for q in range(3)]  # channel 2 * lane + loop
    readings, sensed_loops = np.empty((6, 2)), np.empty((3, 2, 2))
    gather_readings(
        halting, count, det_last_s, det_count, np.array([1, 0]), np.array([2, 3, 3]),
        np.array([0, 2]), np.array([2, 1]), 10.0, 3.0, np.array([0.5, 1.5, 2.5, 3.5]),
        *loops, readings, sensed_loops,
    )  # fmt: skip
    assert readings.tolist() == [
        [2.0, 1.0],  # halting on the movement's lane
        [4.0, 3.0],  # vehicles on it
        [6.5, 8.0],  # mean vehicles on the target lanes
        [2.5, 6.0],  # since the upstream loop last saw one
        [3.0, 2.0],  # stop-line loop vehicles per second
        [1.5, 0.5],  # the sensed queue
    ]
    assert sensed_loops[:, 0].tolist() == [[2.0, 3.0], [12.0, 13.0], [22.0, 23.0]]
    assert sensed_loops[:, 1].tolist() == [[0.0, 1.0], [10.0, 11.0], [20.0, 21.0]]
    # A city without sensors or loops reads NaN there.
    none = np.zeros(0)
    gather_readings(
        halting, count, det_last_s, det_count, np.array([1, 0]), np.array([2, 3, 3]),
        np.array([0, 2]), np.array([2, 1]), 10.0, 3.0, none, none, none, none,
        readings, sensed_loops,
    )  # fmt: skip
    assert np.isnan(readings[5]).all()
    assert np.isnan(sensed_loops).all()


def test_a_gather_for_every_intersection_reads_what_each_alone_reads() -> None:
    """Many intersections deciding at one instant share one gather of the whole city's
    readings; each reads from it exactly what it would read alone (queue sensors and
    loops on, after two minutes of traffic)."""
    config = ScenarioConfig(
        id="traffic/grid4x4-v0",
        horizon_s=300.0,
        params={"grid": {"rows": 2, "cols": 2}, "demand": {"rates_per_s": [0.3]}},
    )
    world = prepare_run(config, "signals/fixed-time-v0", 5).world
    world.run(120.0)
    city = world.the(City)
    now = float(world.env.now)
    alone = [city._observe_one(i, now) for i in range(len(city.signalised))]
    gathered = city._observe_all(now)
    assert len(gathered) == 9
    for i, observation in enumerate(alone):
        a, b = city._obs_bounds[i]
        readings = (observation.queue, observation.vehicles, observation.downstream)
        readings += (observation.gap_s, observation.flow_per_s, observation.sensed_queue)
        readings += (observation.sensed_count, observation.sensed_occupancy)
        readings += (observation.sensed_speed_mps,)
        for mine, shared in zip(readings, gathered, strict=True):
            np.testing.assert_array_equal(mine, shared[a:b])
            assert not shared.flags.writeable
    assert sum(float(o.vehicles.sum()) for o in alone) > 0  # there was traffic
    assert np.isfinite(gathered[5]).any()  # the queue sensors had delivered
