"""The kernel runs past the city's own detector events only where nothing can tell.

``twin.traffic.feeds``: samples read the kernel's copies, deliveries only write boards.
A board someone subscribed to, or a feed sampling faster than the kernel ticks, makes
the kernel stop at that feed's events as it always did; the results never change.
"""

from __future__ import annotations

import numpy as np

from tests.traffic.support import Cyclic
from twin.core.sensors import PipelineSpec, SensorConfig, SensorSpec
from twin.core.world import World
from twin.traffic.city import City
from twin.traffic.demand import RateProfile, poisson_trips
from twin.traffic.detectors import LoopDetectorConfig
from twin.traffic.network import grid

QUEUE = SensorConfig(
    sensor=SensorSpec(period_s=5.0, noise_std=0.5, dropout_prob=0.02, quantum=1.0),
    pipeline=PipelineSpec(latency_mean_s=0.5, latency_jitter_s=0.2),
)


def city(sensors: SensorConfig, *, subscribe: bool = False, batch: bool = True) -> City:
    world = World(3, tick_s=60.0)
    network = grid(2, 2, 150.0, 1)
    trips = poisson_trips(
        network, RateProfile((0.0,), (0.5,)), 400.0, world.streams["traffic.demand"]
    )
    c = City(world, network, trips, Cyclic(), sensors=sensors, loop_detectors=LoopDetectorConfig())
    seen: list[float] = []
    if subscribe:
        # A subscriber may read the city when a reading arrives: it must be exact then.
        c.board.subscribe(lambda now_s, _channels: seen.append(float(c.lanes.halting.sum())))
    if not batch:
        c.max_batch_ticks = 1
    world.run(500.0)
    c.seen = seen  # type: ignore[attr-defined]
    return c


def same_state(a: City, b: City) -> None:
    for x, y in zip((*a.veh, *a.lanes), (*b.veh, *b.lanes), strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.board.values, b.board.values)


def test_a_subscribed_board_stops_the_kernel_at_its_feeds_events():
    free, watched, step_by_step = (
        city(QUEUE),
        city(QUEUE, subscribe=True),
        city(QUEUE, subscribe=True, batch=False),
    )
    assert watched.kernel_calls > free.kernel_calls
    same_state(free, watched)
    # What the subscriber saw at each delivery is what it sees tick by tick.
    assert watched.seen == step_by_step.seen
    assert len(watched.seen) > 50


def test_a_feed_faster_than_the_tick_is_not_run_past():
    fast = SensorConfig(sensor=SensorSpec(period_s=0.5, noise_std=0.5))
    batched, step_by_step = city(fast), city(fast, batch=False)
    assert not batched.own_feeds.runs_ahead
    same_state(batched, step_by_step)
