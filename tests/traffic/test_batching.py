"""Several ticks per kernel call give the tick-by-tick run, bit for bit.

The city runs the kernel for many ticks in one call between events of the rest of the
simulation (signal events, sensor samples, warm-up end, the horizon). Nothing can see
the city in between, so every number must equal that of one call per tick: vehicle
states, lane and detector counters, KPIs, probes, the ledger and the detector readings.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.traffic.support import Cyclic, Erratic, small_city
from twin.core.sensors import PipelineSpec, SensorConfig, SensorSpec
from twin.core.world import World
from twin.traffic.city import City
from twin.traffic.config import SumoNetParams
from twin.traffic.demand import RateProfile, poisson_trips
from twin.traffic.detectors import LoopDetectorConfig
from twin.traffic.kernels import NEXT_DAWDLE, TICK_COUNTERS
from twin.traffic.network import grid

SENSORS = SensorConfig(
    sensor=SensorSpec(period_s=7.0, noise_std=0.5, dropout_prob=0.05, quantum=1.0),
    pipeline=PipelineSpec(latency_mean_s=0.5, latency_jitter_s=0.2),
)

LOOPS = LoopDetectorConfig(
    count=SENSORS,
    occupancy=SensorConfig(sensor=SensorSpec(period_s=3.0, noise_std=0.05)),
    speed=SensorConfig(sensor=SensorSpec(period_s=5.0, dropout_prob=0.1)),
    failed_fraction=0.2,
)


def run(seed: int, policy: str, step_s: float, batch: bool) -> tuple[World, City]:
    world = World(seed, tick_s=60.0, sample_period_s=45.0)
    network = grid(2, 3, 150.0, 1 + seed % 2)
    trips = poisson_trips(
        network, RateProfile((0.0,), (0.6,)), 500.0, world.streams["traffic.demand"]
    )
    chosen = Erratic(seed) if policy == "erratic" else Cyclic()
    city = City(world, network, trips, chosen, step_s=step_s, sensors=SENSORS, loop_detectors=LOOPS)
    if not batch:
        city.max_batch_ticks = 1
    world.run(700.0, warmup_s=100.0)
    return world, city


@pytest.mark.parametrize(
    ("seed", "policy", "step_s"),
    [
        (1, "cyclic", 1.0),
        (2, "erratic", 1.0),
        (3, "erratic", 0.5),
        (4, "cyclic", 0.5),
        # Steps that are no binary fraction: tick times carry rounding, which the batch
        # must reproduce (SUMO configs often say step-length 0.1 or 0.2).
        (5, "erratic", 0.1),
        (6, "cyclic", 0.2),
        (7, "erratic", 0.3),
    ],
)
def test_batched_ticks_equal_tick_by_tick(seed, policy, step_s):
    (w1, c1), (w2, c2) = run(seed, policy, step_s, True), run(seed, policy, step_s, False)
    assert c1.kernel_calls < c2.kernel_calls  # batching did happen
    for x, y in zip((*c1.veh, *c1.lanes), (*c2.veh, *c2.lanes), strict=True):
        np.testing.assert_array_equal(x, y)
    keep = np.arange(TICK_COUNTERS) != NEXT_DAWDLE  # a cursor into pre-drawn uniforms
    np.testing.assert_array_equal(c1.counters[keep], c2.counters[keep])
    assert {k: v.value for k, v in c1.kpis().items()} == {k: v.value for k, v in c2.kpis().items()}
    np.testing.assert_array_equal(c1.board.values, c2.board.values)
    for quantity, board in c1.loop_boards.items():
        np.testing.assert_array_equal(board.values, c2.loop_boards[quantity].values)
        assert board.totals() == c2.loop_boards[quantity].totals()
    assert w1.ledger.co2e_kg() == w2.ledger.co2e_kg()
    f1, f2 = w1.sampler.frame(), w2.sampler.frame()
    assert f1.equals(f2)
    for name in ("vehicles_on_network", "vehicles_waiting_to_insert"):
        p1, p2 = w1.probes[name], w2.probes[name]
        assert (p1.integral(), p1.maximum) == (p2.integral(), p2.maximum)


def test_the_detector_feeds_do_not_split_the_kernels_batches():
    # Their samples read the kernel's copies and their deliveries only write boards
    # (twin.traffic.feeds): with or without the scenarios' default detectors, the kernel
    # stops at the same events (signals, the sampler, the warm-up end).
    calls = []
    default_sensors = SumoNetParams.model_fields["detectors"].get_default(call_default_factory=True)
    for sensors, loops in ((default_sensors, LoopDetectorConfig()), (None, None)):
        world = World(1, tick_s=60.0, sample_period_s=45.0)
        network = grid(2, 3, 150.0, 1)
        trips = poisson_trips(
            network, RateProfile((0.0,), (0.6,)), 500.0, world.streams["traffic.demand"]
        )
        city = City(world, network, trips, Cyclic(), sensors=sensors, loop_detectors=loops)
        world.run(700.0, warmup_s=100.0)
        calls.append(city.kernel_calls)
    assert calls[0] == calls[1]


def test_observation_gathered_for_all_equals_one_by_one():
    _world, city = run(5, "erratic", 1.0, True)
    city._obs_caching = True
    city.signals.due_count = len(city.signals)
    for i in range(len(city.signals)):
        gathered, alone = city.observe(i, 700.0), city._observe_one(i, 700.0)
        for x, y in zip(gathered, alone, strict=True):
            if isinstance(x, np.ndarray):
                assert x.dtype == y.dtype
                np.testing.assert_array_equal(x, y)
            else:
                assert x == y
                assert type(x) is type(y)


# Recorded by this test with SUMO's insertion (commit cc582fa), LC2013-style lane
# changing on the 2-lane cities (seeds 1 and 3) and SUMO's junction-blocking rule
# (kernels.withdraws: mean time loss -0.4%, -3.5%, -0.1%); seeds 1 and 3 re-recorded
# when LC2013's speed gain compared lanes one second ahead behind an accelerating
# leader (lane_change._lane_vsafe: mean time loss +0.3%, -0.8%); seed 2 (one lane)
# when minor links and merges took SUMO's blockedByFoe (kernels._blocked_by_foe: +2.0%);
# all three when a foe behind a car bound elsewhere announced itself from its look-ahead
# (kernels.approaching_foe: -0.1%, -1.6%, -0.0%); all three when permissive greens and
# the internal junctions of left turns became minor links to approach (+0.6%, +5.9%,
# +2.9%); all three when a left turn waited at its internal junction, a car turning off
# a lane held the one behind it and minor links checked every announced foe (+0.8%,
# +1.7%, +0.8%); seeds 1 and 3 when an urgent lane changer passed a slower car on the
# lane it wants as SUMO's LC2013 does and fell in behind one gently (time loss -0.0%);
# test_batched_ticks_equal_tick_by_tick holds batched runs to the tick-by-tick ones,
# bit for bit.
GOLDEN = {
    (1, "cyclic"): (86.9067055393586, 48.11703338472559, 171.71277139381752, 56342.0),
    (2, "erratic"): (120.16936671575847, 81.66152624717964, 225.04082483898358, 77774.0),
    (3, "erratic"): (93.25248226950355, 55.03427509667257, 188.18572400253535, 61945.0),
}


@pytest.mark.parametrize(("seed", "policy"), list(GOLDEN))
def test_golden_values_of_the_tick_by_tick_city(seed, policy):
    chosen = Erratic(seed) if policy == "erratic" else Cyclic()
    world, city = small_city(seed, 3, 3, 1 + seed % 2, 0.8, 900.0, policy=chosen)
    world.run(1200.0, warmup_s=120.0)
    kpis = city.kpis()
    got = (
        kpis["trip_duration_mean_s"].value,
        kpis["time_loss_mean_s"].value,
        kpis["network_co2_kg"].value,
        world.probes["vehicles_on_network"].integral(),
    )
    assert got == GOLDEN[(seed, policy)]
