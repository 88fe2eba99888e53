"""The kernel runs past the city's own detector events only where nothing can tell.

``twin.traffic.feeds``: samples read the kernel's copies, deliveries only write boards.
A board someone subscribed to, or a feed sampling faster than the kernel ticks, makes
the kernel stop at that feed's events as it always did; the results never change.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.traffic.support import Cyclic
from twin.core.sensors import PipelineSpec, SensorConfig, SensorFeed, SensorSpec
from twin.core.world import World
from twin.traffic.city import City
from twin.traffic.demand import RateProfile, poisson_trips
from twin.traffic.detectors import LoopDetectorConfig
from twin.traffic.feeds import OwnFeeds
from twin.traffic.kernels import copied_rows
from twin.traffic.network import grid

QUEUE = SensorConfig(
    sensor=SensorSpec(period_s=5.0, noise_std=0.5, dropout_prob=0.02, quantum=1.0),
    pipeline=PipelineSpec(latency_mean_s=0.5, latency_jitter_s=0.2),
)


def build(sensors: SensorConfig, decision_grid_s: float | None = None) -> City:
    world = World(3, tick_s=60.0)
    network = grid(2, 2, 150.0, 1)
    trips = poisson_trips(
        network, RateProfile((0.0,), (0.5,)), 400.0, world.streams["traffic.demand"]
    )
    return City(
        world,
        network,
        trips,
        Cyclic(),
        sensors=sensors,
        loop_detectors=LoopDetectorConfig(),
        decision_grid_s=decision_grid_s,
    )


def city(sensors: SensorConfig, *, subscribe: bool = False, batch: bool = True) -> City:
    c = build(sensors)
    world = c.world
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


def boards_read_along(monkeypatch: pytest.MonkeyPatch, *, ahead: bool) -> tuple[list, City, list]:
    """Every board of the city as read at irregular times, the city at the end, and
    which samples were taken ahead of their time."""
    if not ahead:
        monkeypatch.setattr(OwnFeeds, "unread_until", lambda self, until_s: None)
        monkeypatch.setattr(OwnFeeds, "hold", lambda self, now_s: None)
    taken_ahead: list[bool] = []
    real = SensorFeed.sample_at

    def sample_at(feed: SensorFeed, times: list[float]) -> None:
        taken_ahead.extend(at_s > feed.env.now for at_s in times)
        real(feed, times)

    monkeypatch.setattr(SensorFeed, "sample_at", sample_at)
    c = build(QUEUE)
    boards = [c.board, *c.loop_boards.values()]
    reads = []
    for k in range(1, 14):
        c.world.advance(37.0 * k)
        reads.append(
            [
                (b.values.copy(), b.measured_at_s.copy(), b.delivered_at_s.copy(), b.totals())
                for b in boards
            ]
        )
    monkeypatch.undo()
    return reads, c, taken_ahead


def test_between_wake_ups_the_city_samples_ahead_and_delivers_at_once_changing_nothing(
    monkeypatch,
):
    ahead, city_ahead, taken_ahead = boards_read_along(monkeypatch, ahead=True)
    on_time, city_on_time, taken_on_time = boards_read_along(monkeypatch, ahead=False)
    assert len(taken_ahead) == len(taken_on_time)  # the same samples ...
    assert sum(taken_ahead) > 0.4 * len(taken_ahead)  # ... many of them taken ahead
    assert not any(taken_on_time)
    for read, expected in zip(ahead, on_time, strict=True):
        for (values, measured, delivered, totals), want in zip(read, expected, strict=True):
            np.testing.assert_array_equal(values, want[0])
            np.testing.assert_array_equal(measured, want[1])
            np.testing.assert_array_equal(delivered, want[2])
            assert totals == want[3]
    same_state(city_ahead, city_on_time)
    assert city_ahead.signals.decisions == city_on_time.signals.decisions > 0


def test_a_reading_sent_just_before_the_city_decides_needs_no_event_of_its_own(monkeypatch):
    """A feed sampling at an instant where the city wakes goes first (the city yields
    to it); its reading arrives after the city has decided and run on, so it is held and
    written then, stamped with its arrival, rather than scheduled. On a 5 s decision
    grid the queue detectors' 5 s samples fall on every decision instant."""

    def run(hold: bool) -> tuple[City, int, list]:
        if not hold:
            monkeypatch.setattr(OwnFeeds, "hold", lambda self, now_s: None)
        scheduled = 0
        real = SensorFeed._schedule

        def schedule(feed: SensorFeed, *args: object) -> None:
            nonlocal scheduled
            scheduled += 1
            real(feed, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(SensorFeed, "_schedule", schedule)
        c = build(QUEUE, decision_grid_s=5.0)
        c.world.run(500.0)
        boards = [
            (b.values.copy(), b.measured_at_s.copy(), b.delivered_at_s.copy(), b.totals())
            for b in (c.board, *c.loop_boards.values())
        ]
        monkeypatch.undo()
        return c, scheduled, boards

    held, held_events, held_boards = run(hold=True)
    scheduled, events, boards = run(hold=False)
    assert held_events < events / 2
    same_state(held, scheduled)
    for got, want in zip(held_boards, boards, strict=True):
        for a, b in zip(got[:3], want[:3], strict=True):
            np.testing.assert_array_equal(a, b)
        assert got[3] == want[3]


def test_a_feed_behind_a_backend_samples_on_time_as_the_backend_is_read_then(monkeypatch):
    def run(ahead: bool) -> City:
        if not ahead:
            monkeypatch.setattr(OwnFeeds, "unread_until", lambda self, until_s: None)
        c = build(QUEUE)
        env = c.world.env
        for feed in c.own_feeds.feeds:
            feed.backend_delay = lambda: 0.1 * (env.now % 3.0)  # a backend read as of now
        c.world.advance(400.0)
        monkeypatch.undo()
        return c

    behind, on_time = run(ahead=True), run(ahead=False)
    for board, want in zip(
        (behind.board, *behind.loop_boards.values()),
        (on_time.board, *on_time.loop_boards.values()),
        strict=True,
    ):
        np.testing.assert_array_equal(board.measured_at_s, want.measured_at_s)
        np.testing.assert_array_equal(board.delivered_at_s, want.delivered_at_s)
        assert board.totals() == want.totals()


def test_a_sample_reads_the_copy_made_for_its_time_or_the_live_state():
    # Copies due at 10, 15 and 20 s; the kernel has passed two of them.
    due_s = np.array([10.0, 15.0, 20.0, math.inf])
    rows = np.empty(5, dtype=np.int64)
    copied_rows(due_s, 2, np.array([5.0, 10.0, 12.0, 15.0, 20.0]), rows)
    assert rows.tolist() == [-1, 0, -1, 1, -1]
