"""Declared statistics of a run: counters, tallies, time-weighted levels and a sampler.

KPIs are computed from probes a model declares, never by patching SimPy resources.
Every probe can be reset, which is how the warm-up period is excluded.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import numpy as np
import pandas as pd
import simpy

from twin.core.clock import Clock


class Counter:
    """Counts occurrences (arrivals, failures, rejected jobs)."""

    __slots__ = ("count", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0

    def add(self, n: int = 1) -> None:
        self.count += n

    def reset(self, now_s: float) -> None:
        self.count = 0

    def value(self, now_s: float) -> float:
        return float(self.count)


class Tally:
    """Observations of a quantity (waiting times, lead times): mean, variance, quantiles.

    Values are kept (8 bytes each) so quantiles are exact; recording one is an append
    and an addition, and the variance is computed from the kept values when asked. A
    tally made with ``keep_values=False`` keeps only the count and the sum: memory flat
    in the horizon (a plant-year of AGV trips is 26 million values), mean only.
    """

    __slots__ = ("_count", "_sum", "_values", "name")

    def __init__(self, name: str, *, keep_values: bool = True) -> None:
        self.name = name
        self._values: array[float] | None = array("d") if keep_values else None
        self._sum = 0.0
        self._count = 0

    def observe(self, x: float) -> None:
        if self._values is not None:
            self._values.append(x)
        self._sum += x
        self._count += 1

    @property
    def count(self) -> int:
        return self._count

    @property
    def mean(self) -> float:
        return self._sum / self._count if self._count else math.nan

    @property
    def variance(self) -> float:
        """Sample variance (n - 1 in the denominator)."""
        if self._count < 2:
            return math.nan
        return float(np.var(self._array(), ddof=1))

    def quantile(self, q: float) -> float:
        if not self._count:
            return math.nan
        return float(np.quantile(self._array(), q))

    def values(self) -> np.ndarray:
        """A copy of every observation, in order."""
        return self._array().copy()

    def reset(self, now_s: float) -> None:
        if self._values is not None:
            self._values = array("d")
        self._sum = 0.0
        self._count = 0

    def value(self, now_s: float) -> float:
        return self.mean

    def _array(self) -> np.ndarray:
        if self._values is None:
            raise ValueError(
                f"tally {self.name!r} keeps no values (made with keep_values=False): "
                "its count and mean only"
            )
        return np.frombuffer(self._values, dtype=np.float64)


class Level:
    """A time-weighted level (queue length, stock on hand, busy servers).

    ``set`` records a new level at the current simulated time; ``mean`` is the integral
    of the level over time divided by the time observed.
    """

    __slots__ = ("_area", "_clock", "_last_s", "_level", "_start_s", "maximum", "name")

    def __init__(self, name: str, clock: Clock, initial: float = 0.0) -> None:
        self.name = name
        self._clock = clock
        self._level = initial
        self._start_s = float(clock.now)
        self._last_s = self._start_s
        self._area = 0.0
        self.maximum = initial

    @property
    def level(self) -> float:
        return self._level

    def set(self, level: float) -> None:
        # set_at's body, not a call to it: a station sets a level about twice per job,
        # and the extra call was a tenth of twin's cost over raw SimPy.
        now = self._clock.now
        self._area += self._level * (now - self._last_s)
        self._last_s = now
        self._level = level
        if level > self.maximum:
            self.maximum = level

    def set_at(self, level: float, now: float) -> None:
        """``set`` at simulated time ``now`` (not before the last change): for a model
        that advances several fixed ticks at once and records each tick's level after."""
        self._area += self._level * (now - self._last_s)
        self._last_s = now
        self._level = level
        if level > self.maximum:
            self.maximum = level

    def set_each(self, levels: Sequence[float], first_s: float, step_s: float) -> float:
        """``set_at(levels[k], t_k)`` for each ``k`` in order, ``t_0 = first_s`` and
        ``t_{k+1} = t_k + step_s`` (the same float additions as such a loop); the time
        after the last. One call per batch of kernel ticks instead of one per tick."""
        area, last, level, maximum = self._area, self._last_s, self._level, self.maximum
        now = first_s
        for new in levels:
            area += level * (now - last)
            last = now
            level = new
            if new > maximum:
                maximum = new
            now = now + step_s
        self._area, self._last_s, self._level, self.maximum = area, last, level, maximum
        return now

    def add(self, delta: float) -> None:
        self.set(self._level + delta)

    def integral(self, now_s: float | None = None) -> float:
        """The level integrated over time since the start (or the last reset), level x s."""
        now = self._clock.now if now_s is None else now_s
        return self._area + self._level * (now - self._last_s)

    def mean(self, now_s: float | None = None) -> float:
        now = self._clock.now if now_s is None else now_s
        span = now - self._start_s
        if span <= 0:
            return self._level
        return self.integral(now) / span

    def reset(self, now_s: float) -> None:
        self._start_s = self._last_s = now_s
        self._area = 0.0
        self.maximum = self._level

    def value(self, now_s: float) -> float:
        return self._level


Probe = Counter | Tally | Level
P = TypeVar("P", Counter, Tally, Level)


class Probes:
    """The probes of one run, by unique name."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._probes: dict[str, Probe] = {}

    def counter(self, name: str) -> Counter:
        return self._add(Counter(name))

    def tally(self, name: str, *, keep_values: bool = True) -> Tally:
        """A tally; ``keep_values=False`` for one read by its mean only (flat memory)."""
        return self._add(Tally(name, keep_values=keep_values))

    def level(self, name: str, initial: float = 0.0, clock: Clock | None = None) -> Level:
        """A level; ``clock``: the clock it changes on when not the world's (a part on
        a side clock, :mod:`twin.core.side_clock`)."""
        return self._add(Level(name, self._clock if clock is None else clock, initial))

    def __getitem__(self, name: str) -> Probe:
        return self._probes[name]

    def __iter__(self) -> Iterator[Probe]:
        return iter(self._probes.values())

    def __len__(self) -> int:
        return len(self._probes)

    def reset(self) -> None:
        now = float(self._clock.now)
        for probe in self._probes.values():
            probe.reset(now)

    def _add(self, probe: P) -> P:
        if probe.name in self._probes:
            raise ValueError(f"a probe named {probe.name!r} already exists")
        self._probes[probe.name] = probe
        return probe


class _LateTimeout(simpy.events.Event):
    """A timeout processed after every ordinary event of the same instant.

    A sample taken "at 10 s" should include what happened at 10 s; SimPy processes
    events of one instant by priority, then in the order they were scheduled.
    """

    def __init__(self, env: simpy.Environment, delay_s: float) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, priority=_AFTER_NORMAL, delay=delay_s)


_AFTER_NORMAL = simpy.events.EventPriority(2)  # SimPy's NORMAL is 1, URGENT 0


class Sampler:
    """Samples every probe each ``period_s`` into a tidy time series.

    Rows are ``(time_s, probe, value)``: a counter's count, a tally's running mean, a
    level's current level.
    """

    def __init__(self, env: simpy.Environment, probes: Probes, period_s: float) -> None:
        if period_s <= 0:
            raise ValueError(f"sample period must be > 0 s, got {period_s}")
        self.period_s = period_s
        self._probes = probes
        self._env = env
        self._time_s: list[float] = []
        self._names: list[str] = []
        self._values: list[float] = []
        self.next_s = float(env.now) + period_s
        """When the next sample is due."""
        self.before_sample: list[Callable[[float], None]] = []
        """Called with the time before each sample: parts on side clocks catch up."""
        env.process(self._run())

    def _run(self) -> simpy.events.ProcessGenerator:
        while True:
            due = _LateTimeout(self._env, self.period_s)
            self.next_s = float(self._env.now) + self.period_s
            yield due
            for catch_up in self.before_sample:
                catch_up(self.next_s)
            self.sample()

    def sample_once_at_end(self) -> None:
        """Close the series at the horizon (SimPy stops before events at ``until``)."""
        if not self._time_s or self._time_s[-1] < self._env.now:
            self.sample()

    def sample(self) -> None:
        now = self._env.now
        for probe in self._probes:
            self._time_s.append(now)
            self._names.append(probe.name)
            self._values.append(probe.value(now))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "time_s": np.asarray(self._time_s, dtype=np.float64),
                "probe": pd.Series(self._names, dtype="string"),
                "value": np.asarray(self._values, dtype=np.float64),
            }
        )
