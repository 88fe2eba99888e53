"""Induction loops through the core sensor pipeline: truth without noise, noise,
dropout and dead loops as configured, and a policy that reads them."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from models.signals.actuated import Actuated, ActuatedParams
from tests.traffic.support import Cyclic
from twin.core.sensors import SensorConfig, SensorSpec
from twin.core.world import World
from twin.traffic.city import City
from twin.traffic.demand import RateProfile, poisson_trips
from twin.traffic.detectors import QUANTITIES, LoopDetectorConfig, LoopSignal
from twin.traffic.kernels import STOP_LOOP, UPSTREAM_LOOP
from twin.traffic.network import grid
from twin.traffic.observation import LOOP_STOP_LINE, LOOP_UPSTREAM


def ideal(period_s: float) -> SensorConfig:
    return SensorConfig(sensor=SensorSpec(period_s=period_s))


def loops(period_s: float = 10.0, **over: object) -> LoopDetectorConfig:
    fields: dict[str, object] = {q: ideal(period_s) for q in ("count", "occupancy", "speed")}
    fields.update(over)
    return LoopDetectorConfig(**fields)  # type: ignore[arg-type]


def city(seed: int, config: LoopDetectorConfig | None, policy=None, rate=0.4, lanes=1):
    world = World(seed, tick_s=60.0)
    network = grid(2, 2, 150.0, lanes)
    trips = poisson_trips(
        network, RateProfile((0.0,), (rate,)), 600.0, world.streams["traffic.demand"]
    )
    chosen = policy if policy is not None else Cyclic()
    return world, City(world, network, trips, chosen, loop_detectors=config)


def test_loop_columns_are_the_kernel_loops():
    assert (LOOP_STOP_LINE, LOOP_UPSTREAM) == (STOP_LOOP, UPSTREAM_LOOP)


def test_ideal_loops_deliver_the_true_count_occupancy_and_speed_of_each_period():
    world, c = city(1, loops(10.0), lanes=2)
    n = c.arrays.n_lanes
    seen: list[tuple[float, np.ndarray, np.ndarray, np.ndarray]] = []
    previous = [np.zeros(2 * n, dtype=np.int64), np.zeros(2 * n), np.zeros(2 * n, np.int64)]
    checked = {"periods": 0, "speeds": 0}

    def on_speed(now_s: float, channels: np.ndarray) -> None:
        # The speed feed samples last at each instant: every board is fresh now.
        lanes = c.lanes
        count = lanes.det_count[:n].reshape(-1).copy()
        speed = lanes.det_speed_sum[:n].reshape(-1).copy()
        occupied = lanes.det_occupied[:n].reshape(-1).copy()
        passed = count - previous[0]
        boards = c.loop_boards
        np.testing.assert_array_equal(boards["count"].values, passed)
        if now_s > 0:
            np.testing.assert_allclose(
                boards["occupancy"].values, (occupied - previous[2]) * c.step_s / 10.0
            )
        moved = passed > 0
        np.testing.assert_allclose(
            boards["speed"].values[moved], (speed - previous[1])[moved] / passed[moved]
        )
        checked["periods"] += 1
        checked["speeds"] += int(moved.sum())
        previous[:] = [count, speed, occupied]
        seen.append((now_s, count, speed, occupied))

    c.loop_boards["speed"].subscribe(on_speed)
    world.run(600.0)
    assert checked["periods"] >= 50  # a period in which no car passed delivers no speed
    assert checked["speeds"] > 50  # vehicles did cross loops
    assert c.loop_boards["count"].totals()["dropped"] == 0
    occupancy = c.loop_boards["occupancy"].values
    assert np.all((occupancy >= 0) & (occupancy <= 1))
    # The stop-line loop and the upstream loop of a lane count the same cars, give or
    # take those between them.
    total = c.lanes.det_count[:n].sum(axis=0)
    assert abs(int(total[STOP_LOOP]) - int(total[UPSTREAM_LOOP])) < 0.1 * total.sum()


def test_noise_and_dropout_distort_the_readings_as_configured():
    noisy = SensorConfig(sensor=SensorSpec(period_s=10.0, noise_std=2.0, dropout_prob=0.3))
    world, c = city(2, loops(10.0, count=noisy))
    truth = c.loop_boards  # filled below
    differs = {"n": 0, "of": 0}
    last = np.zeros(2 * c.arrays.n_lanes, dtype=np.int64)

    def on_count(now_s: float, channels: np.ndarray) -> None:
        nonlocal last
        count = c.lanes.det_count[: c.arrays.n_lanes].reshape(-1).copy()
        passed = (count - last)[channels]
        last = count
        differs["n"] += int((truth["count"].values[channels] != passed).sum())
        differs["of"] += len(channels)

    c.loop_boards["count"].subscribe(on_count)
    world.run(600.0)
    totals = c.loop_boards["count"].totals()
    assert 0.25 < totals["dropped"] / totals["taken"] < 0.35
    assert differs["n"] > 0.9 * differs["of"]  # std 2 noise, no quantum: never exact
    # The other quantities kept their ideal sensors.
    assert c.loop_boards["occupancy"].totals()["dropped"] == 0


def test_dead_loops_never_report_and_the_rest_do():
    world, c = city(3, loops(10.0, failed_fraction=0.5))
    world.run(300.0)
    dead = c.loop_failed.reshape(-1)
    assert 0 < dead.sum() < len(dead)
    for board in c.loop_boards.values():
        assert np.all(np.isnan(board.values[dead]))
        np.testing.assert_array_equal(board.dropped[dead], board.taken[dead])
        assert board.delivered[dead].sum() == 0
    assert not np.any(np.isnan(c.loop_boards["count"].values[~dead]))


def test_loop_failures_come_from_their_own_stream():
    # The same seed kills the same loops whatever the other sensors are.
    _, a = city(4, loops(10.0, failed_fraction=0.3))
    noisy = SensorConfig(sensor=SensorSpec(period_s=3.0, noise_std=1.0))
    _, b = city(4, loops(5.0, count=noisy, failed_fraction=0.3))
    np.testing.assert_array_equal(a.loop_failed, b.loop_failed)


def test_observation_carries_the_loops_of_each_movement_lane():
    world, c = city(5, loops(5.0))
    world.run(300.0)
    for i in range(len(c.signals)):
        obs = c.observe(i, 300.0)
        m = len(obs.queue)
        for field in (obs.sensed_count, obs.sensed_occupancy, obs.sensed_speed_mps):
            assert field.shape == (m, 2)
        lanes = c._obs_lanes[i]
        values = c.loop_boards["count"].values.reshape(-1, 2)
        np.testing.assert_array_equal(obs.sensed_count, values[lanes])
    world, bare = city(5, None)
    world.run(30.0)
    obs = bare.observe(0, 30.0)
    assert np.all(np.isnan(obs.sensed_count))
    assert obs.sensed_count.shape == (len(obs.queue), 2)


def test_movements_sharing_a_lane_share_its_number_and_its_values():
    world, c = city(5, loops(5.0))
    world.run(300.0)
    for i in range(len(c.signals)):
        obs = c.observe(i, 300.0)
        lanes = c._obs_lanes[i]  # the network's lane of each movement
        # Same number exactly where the same lane; numbered 0, 1, ... in lane order.
        np.testing.assert_array_equal(lanes[:, None] == lanes, obs.lane[:, None] == obs.lane)
        assert sorted(set(obs.lane.tolist())) == list(range(len(set(lanes.tolist()))))
        first = np.unique(obs.lane, return_index=True)[1]
        for field in (obs.queue, obs.vehicles, obs.gap_s, obs.flow_per_s, obs.sensed_count):
            np.testing.assert_array_equal(field, field[first][obs.lane])
    # One lane per approach: the left, through and right of an approach share it.
    assert len(obs.lane) > len(set(obs.lane.tolist()))


def test_actuated_gaps_out_on_the_sensed_upstream_loop():
    sensed = Actuated(ActuatedParams(use_sensors=True))
    world, with_loops = city(6, loops(1.0), policy=sensed, rate=0.15)
    world.run(900.0)
    k = with_loops.kpis()
    # Without loop readings every lane calls (fail-safe recall): every green maxes out.
    world, blind = city(6, None, policy=Actuated(ActuatedParams(use_sensors=True)), rate=0.15)
    world.run(900.0)
    kb = blind.kpis()
    assert kb["signal_max_outs"].value > 0
    assert k["signal_max_outs"].value < 0.5 * kb["signal_max_outs"].value
    assert k["time_loss_mean_s"].value < kb["time_loss_mean_s"].value
    # And the truth-gap actuated policy is in the same range as the sensed one.
    world, exact = city(6, None, policy=Actuated(), rate=0.15)
    world.run(900.0)
    ke = exact.kpis()
    assert math.isclose(ke["time_loss_mean_s"].value, k["time_loss_mean_s"].value, rel_tol=0.5)


@given(
    steps=st.lists(
        st.tuples(st.sampled_from([0.0, 0.5, 5.0, 30.0]), st.integers(0, 3), st.integers(0, 40)),
        min_size=1,
        max_size=12,
    ),
    failed_fraction=st.sampled_from([0.0, 0.4]),
    seed=st.integers(0, 2**32),
)
def test_loop_readings_are_the_array_formulas_bit_for_bit(
    steps: list[tuple[float, int, int]], failed_fraction: float, seed: int
) -> None:
    # The signal's compiled loop against the per-interval formulas in array form.
    n, tick_s = 3, 0.5
    draws = np.random.default_rng(seed)
    lanes = SimpleNamespace(
        det_count=np.zeros((n, 2), dtype=np.int64),
        det_speed_sum=np.zeros((n, 2)),
        det_occupied=np.zeros((n, 2), dtype=np.int64),
    )
    clock = [0.0]
    failed = draws.random(2 * n) < failed_fraction
    signals = {
        q: LoopSignal(lanes, n, q, tick_s, lambda: clock[0], failed)  # type: ignore[arg-type]
        for q in QUANTITIES
    }
    last = (np.zeros(2 * n, dtype=np.int64), np.zeros(2 * n), np.zeros(2 * n, dtype=np.int64))
    last_s = 0.0
    for span_s, most, occupied in steps:
        clock[0] += span_s
        passed = draws.integers(0, most + 1, (n, 2))
        lanes.det_count += passed
        lanes.det_speed_sum += passed * draws.random((n, 2)) * 14.0
        lanes.det_occupied += draws.integers(0, occupied + 1, (n, 2))
        count = lanes.det_count.reshape(-1).copy()
        speed_sum = lanes.det_speed_sum.reshape(-1).copy()
        occ = lanes.det_occupied.reshape(-1).copy()
        diff = count - last[0]
        span = clock[0] - last_s
        with np.errstate(invalid="ignore", divide="ignore"):
            expected = {
                "count": diff.astype(np.float64),
                "occupancy": np.minimum((occ - last[2]) * tick_s / span, 1.0)
                if span > 0
                else np.zeros(2 * n),
                "speed": np.where(diff > 0, (speed_sum - last[1]) / diff, math.nan),
            }
        for q in QUANTITIES:
            expected[q][failed] = math.nan
            assert signals[q]().tobytes() == expected[q].tobytes(), q
        last, last_s = (count, speed_sum, occ), clock[0]
