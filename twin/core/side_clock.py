"""A part of a world on a SimPy clock of its own, run ahead of the world's in stretches.

A part that nothing else in the world changes (a region's cloud: its load is set when
the region is built, and the others only read its ingestion latency) gives the same
results however far ahead of the rest it runs, as long as every reader sees it as of
the reader's own time. On the world's one clock its events interleave with everyone
else's, one at a time; each time it runs, its code and data have left the processor's
caches (a region's cloud cost 1.5x its cost alone that way, see ``docs/BENCHMARKS.md``).
On a clock of its own it runs many of its events in one stretch (a region's cloud, a day).

What keeps every result what it is on the world's clock:

- a reader at ``t`` calls :meth:`SideClock.through` first: every event of the part at
  or before ``t`` has then been processed (the part may have run further ahead) and the
  reader reads what the part recorded by time (its history), not its latest state;
- the part never runs past what the world may look at next: the world's next stop (the
  end of the warm-up, the horizon, a live twin's step, a display tick), where the world
  brings it to exactly that instant (:meth:`SideClock.to_stop`) before resetting
  statistics or handing over results, and the sampler's next sample, before which the
  sampler brings it there.

``tests/core/test_side_clock.py`` holds these rules; ``tests/region`` holds a region run
with its cloud a day ahead to the same run with no look-ahead, to the last digit.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import simpy

if TYPE_CHECKING:
    from twin.core.world import World


class SideClock:
    """The SimPy environment of one part of ``world`` that may run ``ahead_s`` ahead.

    Args:
        world: the world the part belongs to (its stops and sampler bound the part).
        ahead_s: how far past a reader's time the part may run in one stretch (0: just
            to the reader's time).
    """

    def __init__(self, world: World, ahead_s: float) -> None:
        if not ahead_s >= 0.0:
            raise ValueError(f"ahead_s must be >= 0 s, got {ahead_s}")
        self.env = simpy.Environment(initial_time=world.now_s)
        self.ahead_s = ahead_s
        self._world = world
        self._through_s = -math.inf
        """Every event of the part at or before this time has been processed."""
        world.add_side_clock(self)

    def through(self, t_s: float) -> None:
        """Process every event of the part at or before ``t_s`` (a time the world has
        reached), and up to :attr:`ahead_s` beyond while the world cannot look."""
        if self._through_s >= t_s:
            return
        limit_s, inclusive = self._world.side_clock_limit(t_s)
        target_s = t_s + self.ahead_s
        if target_s < limit_s:
            self._run_through(target_s)
        elif inclusive:
            self._run_through(limit_s)
        else:
            self._run_before(limit_s)

    def to_stop(self, stop_s: float) -> None:
        """Process every event of the part before ``stop_s`` and none at it: where the
        world's own clock stands when it stops there."""
        if self._through_s < math.nextafter(stop_s, -math.inf):
            self._run_before(stop_s)

    def _run_through(self, t_s: float) -> None:
        env = self.env
        if t_s > env.now:
            env.run(until=t_s)
        while env.peek() <= t_s:
            env.step()
        self._through_s = t_s

    def _run_before(self, t_s: float) -> None:
        env = self.env
        if t_s > env.now:
            env.run(until=t_s)
        self._through_s = math.nextafter(t_s, -math.inf)
