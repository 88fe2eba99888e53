"""A part on a side clock runs ahead in stretches and is seen as on the world's clock."""

import pandas as pd
import pytest

from twin.core.side_clock import SideClock
from twin.core.world import World


def run(on_side_clock: bool, ahead_s: float = 1_000.0) -> dict[str, object]:
    """A part ticking every 10 s (a counter, a level on its clock, a history by time),
    read every 7 s by the world, sampled every 25 s, warm-up 50 s, horizon 100 s."""
    world = World(1, sample_period_s=25.0)
    side = SideClock(world, ahead_s) if on_side_clock else None
    env = world.env if side is None else side.env
    ticks = world.probes.counter("ticks")
    level = world.probes.level("ticks_level", clock=env)
    history: list[tuple[float, int]] = []

    def tick():
        while True:
            yield env.timeout(10.0)
            ticks.add()
            level.set(ticks.count)
            history.append((float(env.now), ticks.count))

    seen: list[tuple[float, int]] = []
    ahead: list[float] = []

    def read():
        while True:
            yield world.env.timeout(7.0)
            if side is not None:
                side.through(world.now_s)
                ahead.append(float(side.env.now) - world.now_s)
            seen.append((world.now_s, max((c for t, c in history if t <= world.now_s), default=0)))

    env.process(tick())
    world.env.process(read())
    world.run(100.0, warmup_s=50.0)
    world.finish()
    assert world.sampler is not None
    return {
        "seen": seen,
        "ahead": ahead,
        "ticks": ticks.count,
        "mean": level.mean(),
        "series": world.sampler.frame(),
        "side_now": None if side is None else float(side.env.now),
    }


def test_a_reader_sees_the_part_as_of_its_own_time():
    alone, ahead = run(on_side_clock=False), run(on_side_clock=True)
    assert ahead["seen"] == alone["seen"]
    assert alone["seen"][:3] == [(7.0, 0), (14.0, 1), (21.0, 2)]


def test_the_part_runs_ahead_but_never_past_the_next_sample():
    ahead = run(on_side_clock=True)["ahead"]
    assert ahead[:4] == [18.0, 11.0, 4.0, 22.0]  # read at 7 s: through the sample at 25 s
    assert min(ahead) >= 0.0


def test_samples_warm_up_and_the_end_see_the_part_as_on_the_worlds_clock():
    alone, ahead = run(on_side_clock=False), run(on_side_clock=True)
    pd.testing.assert_frame_equal(ahead["series"], alone["series"])
    # The warm-up ends at 50 s before the tick at 50 s; the horizon leaves the one at 100 s.
    assert ahead["ticks"] == alone["ticks"] == 5
    assert ahead["mean"] == alone["mean"]
    assert ahead["side_now"] == 100.0


def test_no_look_ahead_reads_the_same():
    assert run(on_side_clock=True, ahead_s=0.0)["seen"] == run(on_side_clock=False)["seen"]


def test_a_negative_look_ahead_is_refused():
    with pytest.raises(ValueError, match="ahead_s must be >= 0"):
        SideClock(World(1), -1.0)
